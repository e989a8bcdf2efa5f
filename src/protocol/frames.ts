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

/** `stored`: new and durable; `duplicate`: its ID was consumed before; `relayed`: out-of-band, not stored. */
export type AckStatus = 'stored' | 'duplicate' | 'relayed';

/** A stored message in a frame: the wire message plus its sequence number. */
export type SequencedWireMessage = WireMessage & { seq: number };

export type ServerFrame =
  | { type: 'hello'; uid: string; device: string; server_time: number; heartbeat_ms: number }
  | { type: 'state'; cursor: number; hash: string; items: Record<string, StateFrameItem>; flush?: true }
  | { type: 'messages'; cursor: number; hash: string; messages: SequencedWireMessage[] }
  | { type: 'synced'; cursor: number }
  | { type: 'message'; message: SequencedWireMessage | WireMessage }
  | { type: 'reminder'; item_id: string; remind_at: number; item: WireItem }
  | { type: 'ack'; ref?: string; msg_id: string; seq: number | null; status: AckStatus }
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
      unknownType(f.type, 'auth, sync, consume, ping');
  }
}

const HASH = /^[0-9a-f]{64}$/;
const ACK_STATUSES: readonly unknown[] = ['stored', 'duplicate', 'relayed'] satisfies AckStatus[];

type Fields = Record<string, unknown>;

/**
 * Validates a server frame (already parsed JSON) so that a client can trust its type: every field
 * the frame's type requires is there with its type; numbers are finite (times are non-negative
 * Unix seconds, cursors and `seq` non-negative integers, `heartbeat_ms` positive); IDs are
 * non-empty strings, `hash` is 64 hex digits; each item of `state` and `reminder`, and each message
 * of `messages` and `message`, is checked field by field. Bodies are any JSON and are not walked; the
 * meaning of a gregor body is `parseMessage`'s to check when the message is applied.
 *
 * Fields this version does not know are tolerated at every level, since a newer server may add
 * some, and stay in the result, which is `value` itself, not a copy. An unknown `type` is refused
 * like a malformed frame: a client skips the frame and reports it, it does not stop.
 * Throws GREGOR_ERR_INVALID_FRAME naming the field (`items.a1.times.created: expected …`).
 *
 * @example
 *   const frame = parseServerFrame(JSON.parse(text));
 *   if (frame.type === 'synced') cursor = frame.cursor;
 */
export function parseServerFrame(value: unknown): ServerFrame {
  const f = record(value, 'frame');
  switch (f.type) {
    case 'hello':
      text(f.uid, 'uid');
      text(f.device, 'device');
      time(f.server_time, 'server_time');
      if (!(typeof f.heartbeat_ms === 'number' && f.heartbeat_ms > 0 && f.heartbeat_ms < Infinity))
        fail('heartbeat_ms', 'expected a positive number');
      break;
    case 'state': {
      count(f.cursor, 'cursor');
      hash(f.hash);
      const items = record(f.items, 'items');
      for (const id of Object.keys(items)) {
        if (id === '') fail('items', 'an item ID is empty');
        const at = `items.${id.slice(0, 64)}`;
        const it = wireItem(items[id], at);
        text(it.msg_id, `${at}.msg_id`);
        time(it.ctime, `${at}.ctime`);
      }
      if (f.flush !== undefined && f.flush !== true) fail('flush', 'expected true or no flush');
      break;
    }
    case 'messages':
      count(f.cursor, 'cursor');
      hash(f.hash);
      list(f.messages, 'messages', (m, at) => wireMessage(m, at, true));
      break;
    case 'synced':
      count(f.cursor, 'cursor');
      break;
    case 'message':
      wireMessage(f.message, 'message', false);
      break;
    case 'reminder':
      text(f.item_id, 'item_id');
      time(f.remind_at, 'remind_at');
      wireItem(f.item, 'item');
      break;
    case 'ack':
      serverRef(f.ref);
      text(f.msg_id, 'msg_id');
      if (f.seq !== null) count(f.seq, 'seq');
      if (!ACK_STATUSES.includes(f.status)) fail('status', 'expected stored, duplicate or relayed');
      break;
    case 'error':
      serverRef(f.ref);
      text(f.code, 'code');
      if (typeof f.message !== 'string') fail('message', `expected a string, got ${kind(f.message)}`);
      break;
    case 'pong':
      serverRef(f.ref);
      time(f.server_time, 'server_time');
      break;
    default:
      unknownType(f.type, 'hello, state, messages, synced, message, reminder, ack, error, pong');
  }
  return f as unknown as ServerFrame;
}

/**
 * A server frame from its text: JSON.parse, then parseServerFrame. Bad JSON throws
 * GREGOR_ERR_BAD_JSON; anything else parseServerFrame refuses throws GREGOR_ERR_INVALID_FRAME.
 *
 * @example
 *   socket.onmessage = (ev) => handle(parseServerText(String(ev.data)));
 */
export function parseServerText(text: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new GregorError('BAD_JSON', `frame: ${(e as Error).message}`);
  }
  return parseServerFrame(value);
}

/** A WireItem (`times`, `for_device`, `category`, `body`), times in Unix seconds. */
function wireItem(value: unknown, at: string): Fields {
  const it = record(value, at);
  const times = record(it.times, `${at}.times`);
  time(times.created, `${at}.times.created`);
  if (times.expires !== null) time(times.expires, `${at}.times.expires`);
  list(times.remind_at, `${at}.times.remind_at`, time);
  if (it.for_device !== null) text(it.for_device, `${at}.for_device`);
  text(it.category, `${at}.category`);
  if (it.body === undefined) fail(`${at}.body`, 'is required (null when empty)');
  return it;
}

/** A WireMessage (`id`, `ctime`, `system`, `body`), with a `seq` when `sequenced`, or optionally. */
function wireMessage(value: unknown, at: string, sequenced: boolean): void {
  const m = record(value, at);
  text(m.id, `${at}.id`);
  time(m.ctime, `${at}.ctime`);
  text(m.system, `${at}.system`);
  if (m.body === undefined) fail(`${at}.body`, 'is required');
  if (sequenced || m.seq !== undefined) count(m.seq, `${at}.seq`);
}

function record(value: unknown, at: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(at, `expected an object, got ${kind(value)}`);
  return value as Fields;
}

function list(value: unknown, at: string, each: (v: unknown, at: string) => void): void {
  if (!Array.isArray(value)) fail(at, `expected an array, got ${kind(value)}`);
  for (let i = 0; i < value.length; i++) each(value[i], `${at}[${i}]`);
}

function text(value: unknown, at: string): void {
  if (typeof value !== 'string' || value === '') fail(at, `expected a non-empty string, got ${kind(value)}`);
}

function time(value: unknown, at: string): void {
  if (!(typeof value === 'number' && value >= 0 && value < Infinity))
    fail(at, `expected Unix seconds (a finite number, not negative), got ${kind(value)}`);
}

function count(value: unknown, at: string): void {
  if (!(Number.isSafeInteger(value) && (value as number) >= 0))
    fail(at, `expected a non-negative integer, got ${kind(value)}`);
}

function hash(value: unknown): void {
  if (typeof value !== 'string' || !HASH.test(value)) fail('hash', 'expected 64 hex digits');
}

function serverRef(value: unknown): void {
  if (value !== undefined && typeof value !== 'string') fail('ref', `expected a string, got ${kind(value)}`);
}

/** What a value is, for a refusal: never throws, whatever the value (`String({toString: 1})` would). */
function kind(value: unknown): string {
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function unknownType(type: unknown, known: string): never {
  const got = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : kind(type);
  fail('type', `expected one of ${known}; got ${got}`);
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
