import { GregorError } from './errors.js';

/**
 * Times on the wire (seed 002 writes `created : 1457056447`):
 * - a number: Unix time in seconds, fractions allowed (millisecond precision is kept);
 * - a string in ISO 8601 with a zone: `"2026-11-23T10:00:00Z"`;
 * - a string offset: `"+90s"`, `"+1h"`, `"-2d"` (units ms, s, m, h, d, w).
 *
 * The one rule for offsets: inside a message an offset is relative to that message's ctime
 * (the moment the server accepted it), and is resolved to an absolute time then, once and for
 * all; in a query (`state at -1h`) it is relative to the moment the query runs.
 * Internally every time is an integer number of milliseconds since the Unix epoch.
 */
export type WireTime = number | string;

/** A time argument in the TypeScript API: absolute milliseconds, or an offset from now. */
export type TimeOrOffset = { readonly time: number } | { readonly offset: number };

/** Year 9999: later times are typos, and they would overflow some SQL types. */
const MAX_SECONDS = 253_402_300_799;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const OFFSET = /^([+-])(\d{1,12}(?:\.\d{1,3})?)(ms|s|m|h|d|w)$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

const EXPECTED = 'expected Unix seconds, an ISO 8601 time with a zone, or an offset like "+1h"';

/** Parses a wire time; offsets are relative to `base` (ms). Throws GREGOR_ERR_INVALID_TIME naming `path`. */
export function parseWireTime(value: unknown, base: number, path: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > MAX_SECONDS) {
      throw new GregorError(
        'INVALID_TIME',
        `${path}: ${value} is out of range (0 to ${MAX_SECONDS} seconds)`,
      );
    }
    return fromWireTime(value);
  }
  if (typeof value === 'string') {
    const offset = OFFSET.exec(value);
    if (offset) {
      const ms = Math.round(Number(offset[2]) * UNIT_MS[offset[3]!]!);
      return checkRange(base + (offset[1] === '-' ? -ms : ms), value, path);
    }
    if (ISO.test(value)) {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return checkRange(ms, value, path);
    }
    throw new GregorError(
      'INVALID_TIME',
      `${path}: ${JSON.stringify(value.slice(0, 64))} is not a time; ${EXPECTED}`,
    );
  }
  throw new GregorError('INVALID_TIME', `${path}: ${EXPECTED}, got ${describe(value)}`);
}

/** A time argument as text (a query string, a CLI flag): the same forms as `parseWireTime`, offsets relative to now. */
export function parseTimeOrOffset(text: string, path: string): TimeOrOffset {
  const offset = OFFSET.exec(text);
  if (offset) {
    const ms = Math.round(Number(offset[2]) * UNIT_MS[offset[3]!]!);
    return { offset: offset[1] === '-' ? -ms : ms };
  }
  const asNumber = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : text;
  return { time: parseWireTime(asNumber, 0, path) };
}

/** Resolves a TimeOrOffset against `now`; `undefined`/`null` stay unset. */
export function resolveTime(t: TimeOrOffset | null | undefined, now: number): number | null {
  if (t == null) return null;
  return 'time' in t ? t.time : now + t.offset;
}

/** Milliseconds to the wire's Unix seconds (fractions keep the milliseconds). */
export function toWireTime(ms: number): number {
  return ms / 1000;
}

/** The wire's Unix seconds to whole milliseconds: the one inverse of `toWireTime`. */
export function fromWireTime(seconds: number): number {
  return Math.round(seconds * 1000);
}

function checkRange(ms: number, value: string, path: string): number {
  if (ms < 0 || ms > MAX_SECONDS * 1000) {
    throw new GregorError(
      'INVALID_TIME',
      `${path}: ${JSON.stringify(value)} resolves to a time out of range`,
    );
  }
  return ms;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value).slice(0, 32)}`;
}
