/**
 * Notify's user IDs, and how they map to Gregor's.
 *
 * Notify takes `user_id` from the verified JWT payload as it is written: a JSON string is the ID,
 * any other JSON literal is kept as its raw text (an object or an array is refused) (`42` → "42", `12345678901234567890` → those
 * digits, `42.0` → "42.0", `1e3` → "1e3", `null` → "null"). Gregor's own user IDs are narrower
 * (`[A-Za-z0-9._:~-]{1,128}`), so a Notify ID maps to one by a reversible encoding: an ID that
 * already fits and does not start with `~` is itself; any other is `~` + base64url(UTF-8).
 */

import type { Principal } from '../auth.js';

/** Gregor's user-ID grammar (src/protocol/validate.ts `id()`), and its length limit. */
const GREGOR_ID = /^[A-Za-z0-9._:~-]{1,128}$/;
export const MAX_GREGOR_UID = 128;
/** The canonical base64url alphabet, unpadded. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The raw JSON text of the last top-level member whose key `matches` (a key, compared exactly, or a
 * test) in a JSON object text, or undefined when no member matches (the last one wins when several
 * do, as in JSON.parse and Go). Keys are compared after unescaping (`"user\u005fid"` is
 * `user_id`). The text must be valid JSON.
 *
 * @example
 *   rawMember('{"user_id": 12345678901234567890}', 'user_id'); // '12345678901234567890'
 */
export function rawMember(json: string, matches: string | ((key: string) => boolean)): string | undefined {
  return rawMembers(json, matches).at(-1);
}

/** The raw JSON text of every top-level member whose key matches, in order (see `rawMember`). */
export function rawMembers(json: string, matches: string | ((key: string) => boolean)): string[] {
  const test = typeof matches === 'string' ? (key: string) => key === matches : matches;
  const s = new Scanner(json);
  s.skipSpace();
  s.expect('{');
  s.skipSpace();
  const found: string[] = [];
  if (s.peek() === '}') return found;
  for (;;) {
    s.skipSpace();
    const keyStart = s.pos;
    s.skipString();
    const key = JSON.parse(json.slice(keyStart, s.pos)) as string;
    s.skipSpace();
    s.expect(':');
    s.skipSpace();
    const valueStart = s.pos;
    s.skipValue();
    if (test(key)) found.push(json.slice(valueStart, s.pos));
    s.skipSpace();
    if (s.peek() === '}') return found;
    s.expect(',');
  }
}

/**
 * True when Go's encoding/json would decode the member `key` into a struct field tagged `name`
 * (`name` in ASCII lower case): the same key, or the same under Unicode simple case folding. For
 * ASCII names that is ASCII case-insensitivity plus the two non-ASCII letters that fold onto ASCII
 * ones: `ſ` (U+017F) is `s` and the Kelvin sign `K` (U+212A) is `k`.
 *
 * @example
 *   goKeyMatches('USER_ID', 'user_id'); // true
 *   goKeyMatches('u\u017fer_id', 'user_id'); // true
 */
export function goKeyMatches(key: string, name: string): boolean {
  if (key === name) return true;
  if (key.length !== name.length) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    const folded = c === '\u017F' ? 's' : c === '\u212A' ? 'k' : /[A-Z]/.test(c) ? c.toLowerCase() : c;
    if (folded !== name[i]) return false;
  }
  return true;
}

/** A `user_id` Notify refuses: an object or an array (Notify's `auth.ID` takes only literals). */
export class UserIdRefused extends Error {}

/**
 * The user ID Notify would give a verified payload (its JSON text): the `user_id` member (its key
 * matched as Go's encoding/json matches it: exactly or case-insensitively, `USER_ID` too, the last
 * matching member winning) as a string, or its raw text for any other JSON literal; undefined
 * without `user_id`. An object or an array (in any matching member) throws `UserIdRefused`, as
 * Notify refuses the token then. Lone
 * UTF-16 surrogates become U+FFFD, as Go's JSON decoder makes them, so the Redis keys are Notify's.
 *
 * @example
 *   notifyUserId('{"user_id":42.0}'); // '42.0'
 *   notifyUserId('{"User_ID":"a@b.com"}'); // 'a@b.com'
 */
export function notifyUserId(payloadJson: string): string | undefined {
  const all = rawMembers(payloadJson, (key) => goKeyMatches(key, 'user_id'));
  // Go decodes every matching member in order, and fails the whole token on the first it refuses.
  if (all.some((v) => v.startsWith('{') || v.startsWith('['))) {
    throw new UserIdRefused("the token's user_id is an object or an array: give a string or a number");
  }
  const raw = all.at(-1);
  if (raw === undefined) return undefined;
  return wellFormed(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
}

/**
 * The Gregor user ID of a Notify ID: itself when it fits Gregor's grammar and does not start with
 * `~`, else `~` + base64url of its UTF-8 bytes. May exceed 128 characters (such a user works on
 * `/notify/ws` only): check with `fitsGregor`.
 *
 * @example
 *   toGregorUid('42'); // '42'
 *   toGregorUid('a@b.com'); // '~YUBiLmNvbQ'
 */
export function toGregorUid(notifyId: string): string {
  if (GREGOR_ID.test(notifyId) && !notifyId.startsWith('~')) return notifyId;
  return `~${Buffer.from(notifyId, 'utf8').toString('base64url')}`;
}

/**
 * The Notify ID of a Gregor user ID (the inverse of `toGregorUid`), or null for an ID that starts
 * with `~` but is not such an encoding (a Gregor user named that way has no Notify channel).
 *
 * @example
 *   fromGregorUid('~YUBiLmNvbQ'); // 'a@b.com'
 */
export function fromGregorUid(uid: string): string | null {
  if (!uid.startsWith('~')) return uid;
  const encoded = uid.slice(1);
  if (!BASE64URL.test(encoded)) return null;
  const bytes = Buffer.from(encoded, 'base64url');
  const text = bytes.toString('utf8');
  // Only the canonical encoding of well-formed UTF-8 decodes: the mapping stays one-to-one.
  return toGregorUid(text) === uid ? text : null;
}

/**
 * The Notify ID a principal speaks for, for the Notify surface (`/notify/ws`, Twirp `Auth`): the
 * token's own user ID when the JWT verifier read it, else the decoding of the Gregor user ID (an
 * extension's principal), so the Notify socket and the bridge use one channel; null for a service.
 *
 * @example
 *   notifyIdOf(await gregord.authenticate(token, 'notify', headers)); // 'a@b.com'
 */
export function notifyIdOf(p: Pick<Principal, 'kind' | 'uid' | 'notifyId'>): string | null {
  if (p.kind !== 'user') return null;
  if (p.notifyId !== undefined) return p.notifyId;
  return p.uid === null ? null : (fromGregorUid(p.uid) ?? p.uid);
}

/** True when a Gregor user ID is within Gregor's length limit (usable on `/v1/ws` and HTTP). */
export function fitsGregor(uid: string): boolean {
  return uid.length <= MAX_GREGOR_UID;
}

/** The string with each lone UTF-16 surrogate replaced by U+FFFD. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A cursor over JSON text that steps over values without building them. */
class Scanner {
  pos = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  peek(): string {
    return this.#text[this.pos] ?? '';
  }

  expect(c: string): void {
    if (this.#text[this.pos] !== c) throw new SyntaxError(`expected ${c} at ${this.pos}`);
    this.pos++;
  }

  skipSpace(): void {
    while (/[ \t\n\r]/.test(this.peek())) this.pos++;
  }

  skipString(): void {
    this.expect('"');
    for (;;) {
      const c = this.#text[this.pos++];
      if (c === undefined) throw new SyntaxError('unterminated string');
      if (c === '\\') this.pos++;
      else if (c === '"') return;
    }
  }

  /** Steps over one value; nested objects and arrays by depth, strings by their quotes. */
  skipValue(): void {
    const c = this.peek();
    if (c === '"') {
      this.skipString();
      return;
    }
    if (c !== '{' && c !== '[') {
      // A number or a literal: up to the next delimiter.
      while (this.pos < this.#text.length && !/[\s,}\]]/.test(this.peek())) this.pos++;
      return;
    }
    let depth = 0;
    do {
      const d = this.peek();
      if (d === '"') {
        this.skipString();
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      else if (d === '') throw new SyntaxError('unterminated value');
      this.pos++;
    } while (depth > 0);
  }
}
