import { type Figure, formatValue } from '../report.js';

/** One group of bars: a figure of gregord's next to its baselines from the same run. */
export interface Group {
  readonly label: string;
  readonly figure: Figure;
}

/** One bar chart: a title, and groups sharing one scale. */
export interface Panel {
  readonly title: string;
  readonly groups: readonly Group[];
}

const PALETTE = ['#2b6cb0', '#718096', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#b7791f'];
const MAX_BAR_W = 46;
const BAR_GAP = 6;
const GROUP_GAP = 28;
const PANEL_W = 420;
const PLOT_H = 150;
const LEFT = 16;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The bars of a group: gregord first, then the baseline and the further comparisons. */
const bars = (f: Figure, subject: string) => [
  { name: subject, value: f.value },
  ...(f.baseline ? [f.baseline] : []),
  ...(f.also ?? []),
];

/**
 * Draws panels of grouped bars as one SVG (two panels per row), each bar labelled with its
 * value; a legend maps colours to the servers and baselines. Colours follow the order in which
 * names first appear, so gregord is always the first colour.
 *
 * @example
 *   writeFileSync('latest.svg', svgChart('gregor bench', [{ title: 'Fan-out /s', groups }], 'gregord'));
 */
export function svgChart(title: string, panels: readonly Panel[], subject: string): string {
  const names: string[] = [];
  for (const p of panels)
    for (const g of p.groups)
      for (const b of bars(g.figure, subject)) if (!names.includes(b.name)) names.push(b.name);
  const color = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length]!;
  const panelH = 40 + PLOT_H + 50;
  const rows = Math.ceil(panels.length / 2);
  const width = 2 * PANEL_W + 20;
  // The legend wraps onto as many lines as it needs.
  const legend: { name: string; x: number; y: number }[] = [];
  let lx = LEFT;
  let ly = 44;
  for (const name of names) {
    const w = 26 + name.length * 6.2;
    if (lx + w > width - 10 && lx > LEFT) {
      lx = LEFT;
      ly += 18;
    }
    legend.push({ name, x: lx, y: ly });
    lx += w;
  }
  const top = ly + 24;
  const height = top + rows * panelH + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const { name, x, y } of legend)
    out.push(
      `<rect x="${x}" y="${y - 10}" width="11" height="11" fill="${color(name)}"/>`,
      `<text x="${x + 15}" y="${y}">${esc(name)}</text>`,
    );
  panels.forEach((panel, i) => {
    const x0 = LEFT + (i % 2) * PANEL_W;
    const y0 = top + Math.floor(i / 2) * panelH;
    const unit = panel.groups[0]?.figure.unit ?? '';
    const max = Math.max(
      Number.MIN_VALUE,
      ...panel.groups.flatMap((g) => bars(g.figure, subject).map((b) => b.value)),
    );
    const baseY = y0 + 28 + PLOT_H;
    // Bars narrow down so that every group of the panel fits its width.
    const barCount = panel.groups.reduce((n, g) => n + bars(g.figure, subject).length, 0);
    const room = PANEL_W - 40 - panel.groups.length * GROUP_GAP - barCount * BAR_GAP;
    const barW = Math.max(8, Math.min(MAX_BAR_W, Math.floor(room / Math.max(1, barCount))));
    out.push(
      `<text x="${x0}" y="${y0 + 12}" font-size="12" font-weight="bold">${esc(panel.title)} (${esc(unit)})</text>`,
      `<line x1="${x0}" y1="${baseY}" x2="${x0 + PANEL_W - 30}" y2="${baseY}" stroke="black"/>`,
    );
    let gx = x0 + 4;
    for (const g of panel.groups) {
      const bs = bars(g.figure, subject);
      bs.forEach((b, j) => {
        const h = Math.max(1, Math.round((PLOT_H - 14) * (b.value / max)));
        const x = gx + j * (barW + BAR_GAP);
        out.push(
          `<rect x="${x}" y="${baseY - h}" width="${barW}" height="${h}" fill="${color(b.name)}"/>`,
          `<text x="${x + barW / 2}" y="${baseY - h - 3}" text-anchor="middle" font-size="10">${esc(formatValue(b.value))}</text>`,
        );
      });
      const groupW = bs.length * (barW + BAR_GAP) - BAR_GAP;
      out.push(`<text x="${gx + groupW / 2}" y="${baseY + 15}" text-anchor="middle">${esc(g.label)}</text>`);
      gx += groupW + GROUP_GAP;
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
