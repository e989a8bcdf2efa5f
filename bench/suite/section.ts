import type { Figure } from '../report.js';

/** What one part of `npm run bench` measured: its printed table and the raw data behind it. */
export interface SectionResult {
  /** The table's title: what was measured, on what load. */
  readonly title: string;
  readonly figures: readonly Figure[];
  /** Everything measured (per-round figures, counts, settings), kept in the results JSON. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** How a section is run: `smoke` is the tiny CI run (whole suite under a minute). */
export interface SectionOptions {
  readonly smoke: boolean;
}
