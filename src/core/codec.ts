import type { Json } from '../protocol/json.js';
import type { Dismissal, InBandMessage, Item, Metadata } from '../protocol/message.js';

/**
 * How engines store an in-band message's content: the normalized form as JSON (times in ms), so
 * loading needs no revalidation. Metadata is kept in columns of its own.
 */
export function encodeInBand(m: InBandMessage): string {
  if (m.kind === 'flush') return '{"flush":true}';
  return JSON.stringify({ create: m.create, dismiss: m.dismiss });
}

export function decodeInBand(md: Metadata, text: string): InBandMessage {
  const value = JSON.parse(text) as { flush?: true; create?: Item[]; dismiss?: Dismissal | null };
  if (value.flush) return { kind: 'flush', md };
  return { kind: 'update', md, create: value.create ?? [], dismiss: value.dismiss ?? null };
}

/** An item's body as stored text, and back. */
export function encodeBody(body: Json): string {
  return JSON.stringify(body);
}

export function decodeBody(text: string): Json {
  return JSON.parse(text) as Json;
}
