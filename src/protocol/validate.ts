import { GregorError } from './errors.js';
import { textDigest } from './hash.js';
import { canonicalJson, type Json } from './json.js';
import { LIMITS } from './limits.js';
import {
  type Dismissal,
  GREGOR_SYSTEM,
  type Interval,
  type Item,
  type Message,
  type Metadata,
} from './message.js';
import { parseWireTime } from './time.js';

/** Who sent a message and when it was accepted: the parts of its metadata the wire does not carry. */
export interface ParseContext {
  readonly uid: string;
  /** The message's ctime (ms) unless the wire gives one and `trustCtime` is set. */
  readonly now: number;
  readonly device?: string | null;
  /** Accept a `ctime` from the wire (messages relayed by the server, trusted services). */
  readonly trustCtime?: boolean;
}

const ID = /^[A-Za-z0-9._:~-]+$/;
const SYSTEM = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
/** In `u` mode a surrogate pair is one code point, so this matches only a lone (unpaired) surrogate. */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Control characters (Cc: U+0000–U+001F, U+007F–U+009F): PostgreSQL text cannot hold NUL. */
const CONTROL = /\p{Cc}/u;

type Obj = { readonly [key: string]: unknown };

/**
 * Validates a wire message (seed 002's JSON) and normalizes it: times absolute in ms, offsets
 * resolved against the message's ctime. Without an `id`, the message ID is derived from the
 * message as sent (see derivedId), so an exact resend is a no-op, except for a flush.
 * Throws a GregorError whose message names the offending field.
 *
 * @example
 *   parseMessage({ system: 'gregor', body: { dismiss: { ids: ['5d44d2ad9aabab30'] } } },
 *     { uid: 'alice', now: Date.now() });
 */
export function parseMessage(input: unknown, ctx: ParseContext): Message {
  const m = object(input, 'message');
  onlyKeys(m, ['id', 'ctime', 'system', 'body'], 'message');
  if (m.ctime !== undefined && !ctx.trustCtime) {
    invalid('ctime', 'is set by the server and may not be sent');
  }
  const ctime = m.ctime === undefined ? ctx.now : parseWireTime(m.ctime, ctx.now, 'ctime');
  const system = string(m.system, 'system', LIMITS.maxSystemLength);
  if (!SYSTEM.test(system))
    invalid('system', 'must start with a letter or digit and use only A-Z a-z 0-9 . _ : -');
  const given = m.id === undefined ? null : id(m.id, 'id');
  const md = (msgId: string): Metadata => ({ uid: ctx.uid, msgId, ctime, device: ctx.device ?? null });

  if (system !== GREGOR_SYSTEM) {
    const body = json(m.body === undefined ? null : m.body, 'body', LIMITS.maxMessageBytes);
    return { kind: 'oob', md: md(given ?? derivedId(system, body)), system, body };
  }
  const body = object(m.body, 'body');
  onlyKeys(body, ['create', 'dismiss', 'flush'], 'body');
  if (body.flush !== undefined) {
    if (body.flush !== true) invalid('body.flush', 'must be true');
    if (body.create !== undefined || body.dismiss !== undefined) {
      invalid('body.flush', 'stands alone: send create and dismiss in another message');
    }
    // A flush is a signal, and `{flush: true}` never differs: without an `id` each one is new.
    return { kind: 'flush', md: md(given ?? derivedId(system, { flush: true, ctime })) };
  }
  const create = body.create === undefined ? [] : items(body.create, ctime);
  const dismiss = body.dismiss === undefined ? null : dismissal(body.dismiss, ctime);
  if (
    create.length === 0 &&
    (dismiss === null || (dismiss.ids.length === 0 && dismiss.intervals.length === 0))
  ) {
    invalid('body', 'a gregor message needs a create, a dismiss with ids or intervals, or flush');
  }
  const update = { kind: 'update' as const, create, dismiss: empty(dismiss) ? null : dismiss };
  // From the body as sent, not the normalized one: defaults and offsets resolve against the ctime,
  // which differs on every resend.
  const msgId = given ?? derivedId(system, m.body as Json);
  return { ...update, md: md(msgId) };
}

/** Parses JSON text first; bad JSON and oversized text get their own codes. */
export function parseMessageText(text: string, ctx: ParseContext): Message {
  if (text.length > LIMITS.maxMessageBytes) {
    throw new GregorError(
      'TOO_LARGE',
      `message: ${text.length} bytes is over the limit of ${LIMITS.maxMessageBytes}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new GregorError('BAD_JSON', `message: ${(e as Error).message}`);
  }
  return parseMessage(value, ctx);
}

/** Validates an ID (user, device, item, message): 1 to 128 characters of A-Z a-z 0-9 . _ : ~ -. */
export function id(value: unknown, path: string): string {
  const s = string(value, path, LIMITS.maxIdLength);
  if (!ID.test(s)) invalid(path, 'may use only A-Z a-z 0-9 . _ : ~ -');
  return s;
}

function items(value: unknown, ctime: number): Item[] {
  const create = object(value, 'body.create');
  const ids = Object.keys(create);
  if (ids.length > LIMITS.maxItemsPerMessage) {
    tooLarge('body.create', `${ids.length} items is over the limit of ${LIMITS.maxItemsPerMessage}`);
  }
  // Reminders of all items together are bounded too: each is a row written by the message.
  let reminders = 0;
  return ids.map((key) => {
    const parsed = item(key, create[key], ctime, `body.create.${key}`);
    reminders += parsed.remindAt.length;
    if (reminders > LIMITS.maxRemindersPerMessage) {
      tooLarge(
        'body.create',
        `more than ${LIMITS.maxRemindersPerMessage} reminders in one message (the limit for all items together)`,
      );
    }
    return parsed;
  });
}

function item(key: string, value: unknown, ctime: number, path: string): Item {
  id(key, path);
  const it = object(value, path);
  onlyKeys(it, ['times', 'for_device', 'category', 'body'], path);
  const times = it.times === undefined ? {} : object(it.times, `${path}.times`);
  onlyKeys(times, ['created', 'expires', 'remind_at'], `${path}.times`);
  const created = optionalTime(times.created, ctime, `${path}.times.created`) ?? ctime;
  const expires = optionalTime(times.expires, ctime, `${path}.times.expires`);
  if (expires !== null && expires <= created) invalid(`${path}.times.expires`, 'must be after times.created');
  return {
    id: key,
    category: category(it.category, `${path}.category`),
    created,
    expires,
    remindAt: reminders(times.remind_at, ctime, `${path}.times.remind_at`),
    forDevice: optionalId(it.for_device, `${path}.for_device`),
    body: json(it.body === undefined ? null : it.body, `${path}.body`, LIMITS.maxBodyBytes),
  };
}

function reminders(value: unknown, ctime: number, path: string): number[] {
  if (value === undefined || value === null) return [];
  const list = array(value, path, LIMITS.maxRemindersPerItem);
  const times = list.map((t, i) => parseWireTime(t, ctime, `${path}[${i}]`));
  return [...new Set(times)].sort((a, b) => a - b);
}

function dismissal(value: unknown, ctime: number): Dismissal {
  const d = object(value, 'body.dismiss');
  onlyKeys(d, ['ids', 'intervals', 'for_device'], 'body.dismiss');
  const ids =
    d.ids === undefined
      ? []
      : array(d.ids, 'body.dismiss.ids', LIMITS.maxDismissIds).map((v, i) => id(v, `body.dismiss.ids[${i}]`));
  const intervals =
    d.intervals === undefined
      ? []
      : array(d.intervals, 'body.dismiss.intervals', LIMITS.maxDismissIntervals).map((v, i) =>
          interval(v, ctime, `body.dismiss.intervals[${i}]`),
        );
  return {
    ids: [...new Set(ids)],
    intervals,
    forDevice: optionalId(d.for_device, 'body.dismiss.for_device'),
  };
}

function interval(value: unknown, ctime: number, path: string): Interval {
  const i = object(value, path);
  onlyKeys(i, ['begin', 'end', 'category'], path);
  const begin = optionalTime(i.begin, ctime, `${path}.begin`);
  const end = optionalTime(i.end, ctime, `${path}.end`) ?? ctime;
  if (begin !== null && begin > end) invalid(`${path}.begin`, 'must not be after end');
  return { category: category(i.category, `${path}.category`), begin, end };
}

function empty(d: Dismissal | null): boolean {
  return d === null || (d.ids.length === 0 && d.intervals.length === 0);
}

/**
 * `h` + 32 hex digits of SHA-256 of the canonical JSON of `{system, body}`, the body as the client
 * wrote it (validated, not normalized): equal messages get equal IDs whenever they are sent.
 */
function derivedId(system: string, body: Json): string {
  return `h${textDigest(canonicalJson({ system, body }))}`;
}

function optionalTime(value: unknown, base: number, path: string): number | null {
  return value === undefined || value === null ? null : parseWireTime(value, base, path);
}

function optionalId(value: unknown, path: string): string | null {
  return value === undefined || value === null ? null : id(value, path);
}

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(path, `expected an object, got ${kindOf(value)}`);
  }
  return value as Obj;
}

function array(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) invalid(path, `expected an array, got ${kindOf(value)}`);
  if (value.length > max) tooLarge(path, `${value.length} entries is over the limit of ${max}`);
  return value;
}

function string(value: unknown, path: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0)
    invalid(path, `expected a non-empty string, got ${kindOf(value)}`);
  if (value.length > max) tooLarge(path, `${value.length} characters is over the limit of ${max}`);
  wellFormed(value, path);
  return value;
}

/**
 * Refuses a string that is not well-formed Unicode: a lone surrogate has no UTF-8 form, so an
 * engine would store U+FFFD while the hash covered the original, and replicas would diverge.
 */
function wellFormed(value: string, path: string): void {
  if (LONE_SURROGATE.test(value)) {
    invalid(path, 'must be well-formed Unicode (a lone UTF-16 surrogate cannot be stored as sent)');
  }
}

/**
 * A category is stored in a text column by every engine (and indexed): no control characters,
 * since PostgreSQL text cannot hold NUL and none belongs in a name.
 */
function category(value: unknown, path: string): string {
  const s = string(value, path, LIMITS.maxCategoryLength);
  if (CONTROL.test(s)) invalid(path, 'may not contain control characters (U+0000–U+001F, U+007F–U+009F)');
  return s;
}

function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      invalid(`${path}.${key.slice(0, 64)}`, `is not a known field (known: ${allowed.join(', ')})`);
    }
  }
}

/** Checks that a value is plain JSON within the size and depth limits; returns it unchanged. */
function json(value: unknown, path: string, maxBytes: number): Json {
  let bytes = 0;
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth > LIMITS.maxBodyDepth) tooLarge(at, `nested deeper than ${LIMITS.maxBodyDepth} levels`);
    if (v === null || typeof v === 'boolean') bytes += 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) invalid(at, 'numbers must be finite');
      bytes += 8;
    } else if (typeof v === 'string') {
      wellFormed(v, at);
      bytes += v.length + 2;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${at}[${i}]`);
    } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, x] of Object.entries(v)) {
        wellFormed(k, `${at}: key ${JSON.stringify(k.slice(0, 64))}`);
        bytes += k.length + 3;
        walk(x, depth + 1, `${at}.${k.slice(0, 64)}`);
      }
    } else invalid(at, `expected JSON, got ${kindOf(v)}`);
    if (bytes > maxBytes) tooLarge(path, `over the limit of ${maxBytes} bytes`);
  };
  walk(value, 0, path);
  return value as Json;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : 'a string';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function invalid(path: string, what: string): never {
  throw new GregorError('INVALID_MESSAGE', `${path}: ${what}`);
}

function tooLarge(path: string, what: string): never {
  throw new GregorError('TOO_LARGE', `${path}: ${what}`);
}
