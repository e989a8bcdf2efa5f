import { GregorError } from './errors.js';
import type { Json } from './json.js';
import type { WireItem, WireMessage } from './message.js';

/**
 * WebSocket frames: JSON text, one object per frame, with a `type`. Documented in docs/protocol.md.
 */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'sync'; cursor?: number; hash?: string }
  | { type: 'consume'; ref?: string; message: unknown }
  | { type: 'ping'; ref?: string };

/** An item in a `state` frame: the seed's item plus the message that created it. */
export interface StateFrameItem extends WireItem {
  msg_id: string;
  ctime: number;
}

/** A stored message in a frame: the wire message plus its sequence number. */
export type SequencedWireMessage = WireMessage & { seq: number };

export type ServerFrame =
  | { type: 'hello'; uid: string; device: string; server_time: number; heartbeat_ms: number }
  | { type: 'state'; cursor: number; hash: string; items: Record<string, StateFrameItem>; flush?: true }
  | { type: 'messages'; cursor: number; hash: string; messages: SequencedWireMessage[] }
  | { type: 'synced'; cursor: number }
  | { type: 'message'; message: SequencedWireMessage | WireMessage }
  | { type: 'reminder'; item_id: string; remind_at: number; item: WireItem }
  | { type: 'ack'; ref?: string; msg_id: string; seq: number | null; status: string }
  | { type: 'error'; ref?: string; code: string; message: string }
  | { type: 'pong'; ref?: string; server_time: number };

const REF = /^[\x21-\x7e]{1,64}$/;

/** Validates a client frame (already parsed JSON). Throws GREGOR_ERR_INVALID_FRAME naming the field. */
export function parseClientFrame(value: unknown): ClientFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('frame', 'expected a JSON object');
  const f = value as Record<string, unknown>;
  const ref = optionalRef(f.ref);
  switch (f.type) {
    case 'auth':
      only(f, ['type', 'token']);
      if (typeof f.token !== 'string' || f.token.length === 0 || f.token.length > 8192) {
        fail('token', 'expected a JWT string (at most 8192 characters)');
      }
      return { type: 'auth', token: f.token };
    case 'sync': {
      only(f, ['type', 'cursor', 'hash']);
      const frame: { type: 'sync'; cursor?: number; hash?: string } = { type: 'sync' };
      if (f.cursor !== undefined && f.cursor !== null) {
        if (!Number.isSafeInteger(f.cursor) || (f.cursor as number) < 0)
          fail('cursor', 'expected a non-negative integer');
        frame.cursor = f.cursor as number;
      }
      if (f.hash !== undefined && f.hash !== null) {
        if (typeof f.hash !== 'string' || !/^[0-9a-f]{64}$/.test(f.hash))
          fail('hash', 'expected 64 hex digits');
        frame.hash = f.hash;
      }
      return frame;
    }
    case 'consume':
      only(f, ['type', 'ref', 'message']);
      if (f.message === undefined) fail('message', 'is required');
      return { type: 'consume', ...(ref === undefined ? {} : { ref }), message: f.message as Json };
    case 'ping':
      only(f, ['type', 'ref']);
      return { type: 'ping', ...(ref === undefined ? {} : { ref }) };
    default:
      fail(
        'type',
        `expected one of auth, sync, consume, ping; got ${JSON.stringify(String(f.type)).slice(0, 40)}`,
      );
  }
}

function optionalRef(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !REF.test(value))
    fail('ref', 'expected 1 to 64 printable ASCII characters');
  return value;
}

function only(f: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(f))
    if (!keys.includes(k)) fail(k.slice(0, 40), `is not a field of a ${String(f.type)} frame`);
}

function fail(field: string, what: string): never {
  throw new GregorError('INVALID_FRAME', `${field}: ${what}`);
}
