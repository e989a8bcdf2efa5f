/** A measurement it is compared with, taken in the same run. */
export interface Baseline {
  readonly name: string;
  readonly value: number;
}

/** One benchmark figure, with the baseline it is compared with in the same run. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline the target (if any) is stated against. */
  readonly baseline?: Baseline;
  /** Further comparisons from the same run (e.g. Socket.IO next to the bare baseline). */
  readonly also?: readonly Baseline[];
  /** The design target, in words. */
  readonly target?: string;
  /** Whether this run met the target (absent: no target, or not decidable from this run). */
  readonly met?: boolean;
}

/** Percentile of a sorted copy of `samples`. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A figure as people read it: thousands separated from 100 up, 3 significant digits below. */
export const formatValue = (v: number) =>
  !Number.isFinite(v)
    ? String(v)
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : v.toPrecision(3);

/** `value / baseline` as "0.58×". */
export const formatRatio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;

const compared = (f: Figure, b: Baseline) =>
  `${formatValue(b.value)} ${f.unit} (${b.name}) → ${formatRatio(f.value, b.value)}`;

/** Prints figures as a table: value, baselines with ratios, target (and whether it was met). */
export function printFigures(title: string, figures: readonly Figure[]): void {
  console.log(`\n${title}`);
  const rows = figures.map((f) => [
    f.name,
    `${formatValue(f.value)} ${f.unit}`,
    [f.baseline, ...(f.also ?? [])]
      .filter((b): b is Baseline => b !== undefined)
      .map((b) => compared(f, b))
      .join('; '),
    f.target ? `${f.target}${f.met === undefined ? '' : f.met ? ' MET' : ' MISSED'}` : '',
  ]);
  const header = ['figure', 'gregor', 'baselines (same run) → ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

/** `--smoke`: tiny sizes, for CI. */
export const SMOKE = process.argv.includes('--smoke');
