import { type Baseline, type Figure, formatRatio, formatValue } from '../report.js';
import type { SectionResult } from './section.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

const versus = (f: Figure, b: Baseline) =>
  `${formatValue(b.value)} ${f.unit} (${b.name}): **${formatRatio(f.value, b.value)}**`;

const verdict = (f: Figure) => (f.met === undefined ? '' : f.met ? '✅ met' : '❌ missed');

/**
 * Every figure of a run as one Markdown table (the README's "Performance" table is this, pasted
 * from bench/results/latest.md).
 *
 * @example
 *   writeFileSync('latest.md', markdownTable(sections));
 */
export function markdownTable(sections: readonly SectionResult[]): string {
  const lines = [
    '| Figure | gregor | Same run: baselines and ratio | Design target |',
    '| --- | --- | --- | --- |',
  ];
  for (const s of sections) {
    lines.push(`| **${cell(s.title)}** | | | |`);
    for (const f of s.figures) {
      const compared = [f.baseline, ...(f.also ?? [])]
        .filter((b): b is Baseline => b !== undefined)
        .map((b) => versus(f, b))
        .join('; ');
      const target = f.target ? `${f.target} ${verdict(f)}`.trim() : '';
      lines.push(
        `| ${cell(f.name)} | ${formatValue(f.value)} ${cell(f.unit)} | ${cell(compared)} | ${cell(target)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
