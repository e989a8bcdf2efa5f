import { GregorError } from '../protocol/errors.js';
import { LIMITS } from '../protocol/limits.js';
import type { InBandMessage } from '../protocol/message.js';
import { GLOBAL } from './user-state.js';

/**
 * Refuses what compaction made unsafe. A creation of an item older than the horizon could bring
 * back an item whose row and tombstones were compacted away, so it is refused; so are questions
 * about history that is gone. Every engine calls these.
 */
export function checkNotTooOld(m: InBandMessage, compactedBefore: number): void {
  if (m.kind !== 'update') return;
  for (const item of m.create) {
    if (item.created < compactedBefore) {
      throw new GregorError(
        'MESSAGE_TOO_OLD',
        `body.create.${item.id}.times.created: ${new Date(item.created).toISOString()} is before the compaction horizon ${new Date(compactedBefore).toISOString()}`,
      );
    }
  }
}

export function checkHistoryKept(at: number | null, compactedBefore: number): void {
  if (at !== null && at < compactedBefore) {
    throw new GregorError(
      'HISTORY_COMPACTED',
      `${new Date(at).toISOString()} is before the compaction horizon ${new Date(compactedBefore).toISOString()}`,
    );
  }
}

/** What a user's replica (or its rows) says about the interval tombstones it keeps. */
export interface IntervalTombstones {
  readonly intervalCount: number;
  hasInterval(category: string, scope: string, begin: number | null, end: number): boolean;
  /**
   * How many device scopes (not GLOBAL) hold interval tombstones. An implementation may stop
   * counting at `upTo`: an answer of `upTo` means at least that many.
   */
  deviceScopeCount(upTo: number): number;
  /** Whether `scope` (GLOBAL or a device) holds an interval tombstone, in any category. */
  hasIntervalScope(scope: string): boolean;
}

/**
 * Refuses, as a whole, a message that would take its user over `cap` interval tombstones: each one
 * is checked against the items of its category and kept in every cached replica, so their number
 * is bounded like everything else one user can make a node keep. Intervals the user already keeps
 * (same category, scope, begin and end) do not count again. Refuses too a message whose intervals
 * would add a device scope (`for_device`) beyond `scopeCap`: every item they hide lists the scopes
 * that hide it, on every create and sync. Scopes that hold intervals already, and GLOBAL, are not
 * counted again. Every engine calls this.
 */
export function checkTombstoneRoom(
  m: InBandMessage,
  kept: IntervalTombstones,
  cap: number = LIMITS.maxIntervalTombstonesPerUser,
  scopeCap: number = LIMITS.maxIntervalScopesPerUser,
): void {
  if (m.kind !== 'update' || !m.dismiss || m.dismiss.intervals.length === 0) return;
  const scope = m.dismiss.forDevice ?? GLOBAL;
  if (scope !== GLOBAL && !kept.hasIntervalScope(scope)) {
    const devices = kept.deviceScopeCount(scopeCap);
    if (devices >= scopeCap) {
      throw new GregorError(
        'TOO_MANY_TOMBSTONES',
        `body.dismiss.for_device: this user keeps interval dismissals for ${scopeCap} devices already, the limit; dismiss for all devices (without for_device), dismiss by ID, or wait until compaction removes intervals that ended long ago`,
      );
    }
  }
  const count = kept.intervalCount;
  if (count + m.dismiss.intervals.length <= cap) return;
  const fresh = new Set<string>();
  for (const i of m.dismiss.intervals) {
    if (!kept.hasInterval(i.category, scope, i.begin, i.end))
      fresh.add(`${i.category}\0${i.begin}\0${i.end}`);
  }
  if (count + fresh.size <= cap) return;
  throw new GregorError(
    'TOO_MANY_TOMBSTONES',
    `body.dismiss.intervals: ${fresh.size} new interval dismissals would make ${count + fresh.size} for this user, over the limit of ${cap}; dismiss by ID, or wait until compaction removes intervals that ended long ago`,
  );
}
