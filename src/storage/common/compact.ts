// What both SQL engines' `compact.ts` share: what compacting one user removed.

import type { CompactionReport } from '../../core/state-machine.js';

/** What compacting one user removed; the engine sums them into a CompactionReport. */
export type CompactionCounts = Omit<CompactionReport, 'cutoff'>;

/**
 * Adds one user's counts to a report being summed.
 *
 * @example
 *   const report = { cutoff, messages: 0, items: 0, intervals: 0 };
 *   addCounts(report, compactUser(…));
 */
export function addCounts(
  report: { messages: number; items: number; intervals: number },
  counts: CompactionCounts,
): void {
  report.messages += counts.messages;
  report.items += counts.items;
  report.intervals += counts.intervals;
}
