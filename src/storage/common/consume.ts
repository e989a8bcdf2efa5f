// What both SQL engines' `consume.ts` share: the outcome of one message of a batch, and the core
// rules that refuse a message alone.

import { checkNotTooOld, checkTombstoneRoom, type IntervalTombstones } from '../../core/rules.js';
import type { ConsumeResult } from '../../core/state-machine.js';
import { type GregorError, isGregorError } from '../../protocol/errors.js';
import type { InBandMessage } from '../../protocol/message.js';

/** What became of one message of a batch: a result, or a refusal of that message alone. */
export type Outcome =
  | { readonly ok: true; readonly value: ConsumeResult }
  | { readonly ok: false; readonly error: GregorError };

/** No item dead on arrival. */
export const NONE: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * The result of an out-of-band message: relayed, never stored.
 *
 * @example
 *   if (m.kind === 'oob') return relayed();
 */
export function relayed(): ConsumeResult {
  return { status: 'relayed', seq: null, deadOnArrival: NONE };
}

/** A message stored at `seq`. */
export function stored(seq: number, deadOnArrival: ReadonlyMap<string, readonly string[]> = NONE): Outcome {
  return { ok: true, value: { status: 'stored', seq, deadOnArrival } };
}

/** A message whose ID was stored before, at `seq`. */
export function duplicate(seq: number): Outcome {
  return { ok: true, value: { status: 'duplicate', seq, deadOnArrival: NONE } };
}

/**
 * The result of an outcome, or its refusal thrown.
 *
 * @example
 *   return resultOf(await lane.submit(message));
 */
export function resultOf(outcome: Outcome): ConsumeResult {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * Why the core rules refuse `m` for a user (too old for its compaction, or too many interval
 * tombstones), or null. Only GregorErrors are refusals; anything else is thrown.
 *
 * @example
 *   const refusal = refusalOf(m, user.replica.compactedBefore, user.replica);
 */
export function refusalOf(
  m: InBandMessage,
  compactedBefore: number,
  tombstones: IntervalTombstones,
): GregorError | null {
  try {
    checkNotTooOld(m, compactedBefore);
    checkTombstoneRoom(m, tombstones);
    return null;
  } catch (e) {
    if (isGregorError(e)) return e;
    throw e;
  }
}
