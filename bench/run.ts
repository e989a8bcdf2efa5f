/**
 * The benchmark suite, `npm run bench [-- --smoke] [-- --results DIR]`: on loopback, gregord next
 * to the baselines a user would otherwise pick, each measured in the same run:
 *
 *   fan-out    deliveries/s at 1,000 and 10,000 devices, latency p50/p95/p99 at half the max
 *              rate and at 10k deliveries/s, CPU per delivery: gregord, bare ws, Socket.IO +
 *              redis-adapter (bench/suite/fanout.ts)
 *   storage    durable ingest msg/s and state() on SQLite and PostgreSQL, against the plain
 *              driver (bench/suite/storage.ts)
 *   memory     RSS per idle authenticated connection: gregord, bare ws, Socket.IO
 *              (bench/suite/memory.ts)
 *   hold       50,000 idle connections held by the load generator (bench/suite/hold.ts)
 *   reconnect  bytes to catch up after missing k messages, and with nothing missed
 *              (bench/suite/reconnect.ts)
 *
 * Every phase prints a progress line; every section prints its table. Results go to
 * DIR/<timestamp>.json and DIR/latest.{json,svg,md} (DIR defaults to bench/results/). A section
 * that fails is reported, the others still run, and the exit code is 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileLimit } from './lib/proc.js';
import { type Figure, printFigures, SMOKE } from './report.js';
import { type Group, type Panel, svgChart } from './suite/chart.js';
import { runFanout } from './suite/fanout.js';
import { runHold } from './suite/hold.js';
import { markdownTable } from './suite/markdown.js';
import { runIdleMemory } from './suite/memory.js';
import { elapsed } from './suite/progress.js';
import { runReconnect } from './suite/reconnect.js';
import type { SectionOptions, SectionResult } from './suite/section.js';
import { runStorage } from './suite/storage.js';

const resultsFlag = process.argv.indexOf('--results');
const RESULTS =
  resultsFlag > 0 && process.argv[resultsFlag + 1]
    ? resolve(process.argv[resultsFlag + 1]!)
    : fileURLToPath(new URL('./results/', import.meta.url));

const SECTIONS: readonly (readonly [
  string,
  (o: SectionOptions) => Promise<SectionResult | SectionResult[]>,
])[] = [
  ['fan-out', runFanout],
  ['storage', runStorage],
  ['memory', runIdleMemory],
  ['hold', runHold],
  ['reconnect', runReconnect],
];

/** The machine the figures come from, as the README reports it. */
const machine = () => ({
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  openFileLimit: openFileLimit(),
});

/** The chart: one panel per headline figure, each bar group with its same-run baselines. */
function panels(sections: readonly SectionResult[]): Panel[] {
  const pick = (
    sectionTitle: string,
    wanted: (f: Figure) => boolean,
    label: (s: SectionResult, f: Figure) => string,
  ): Group[] =>
    sections
      .filter((s) => s.title.startsWith(sectionTitle))
      .flatMap((s) => s.figures.filter(wanted).map((figure) => ({ label: label(s, figure), figure })));
  const devices = (s: SectionResult) => `${Number(s.details.devices).toLocaleString('en-US')} devices`;
  const all: Panel[] = [
    {
      title: 'Fan-out, max deliveries/s',
      groups: pick('Fan-out', (f) => f.name.startsWith('fan-out deliveries/s'), devices),
    },
    {
      title: 'Latency at 10k deliveries/s',
      groups: pick(
        'Fan-out',
        (f) => f.name.startsWith('latency') && f.name.includes('10,000'),
        (_, f) => /p\d+/.exec(f.name)?.[0] ?? f.name,
      ),
    },
    {
      title: 'CPU per delivery at max load',
      groups: pick('Fan-out', (f) => f.name.startsWith('CPU per delivery at max'), devices),
    },
    {
      title: 'Memory per idle connection',
      groups: pick(
        'Idle',
        (f) => f.name.startsWith('RSS per idle'),
        () => 'RSS',
      ),
    },
    {
      title: 'Durable ingest (design target load)',
      groups: pick(
        'Durable storage',
        (f) => f.name.startsWith('durable ingest') && f.target !== undefined,
        (s) => String(s.details.engine),
      ),
    },
    {
      title: 'Reconnect after missing k messages',
      groups: pick(
        'Reconnect',
        (f) => f.target !== undefined,
        (_, f) => {
          const k = /missing (\d+)/.exec(f.name)?.[1];
          return k ? `k = ${k}` : 'nothing missed';
        },
      ),
    },
  ];
  return all.filter((p) => p.groups.length > 0);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  console.log(
    `gregor bench suite${SMOKE ? ' (smoke: tiny sizes, checks that it works; the figures mean little)' : ''}: ` +
      `loopback, ${cpus().length} cores shared by the servers, their databases and the load generator`,
  );
  const sections: SectionResult[] = [];
  const failures: { section: string; error: string }[] = [];
  for (const [name, run] of SECTIONS) {
    console.log(`\n[${elapsed()}] === ${name} ===`);
    try {
      const result = await run({ smoke: SMOKE });
      for (const s of Array.isArray(result) ? result : [result]) {
        sections.push(s);
        printFigures(s.title, s.figures);
      }
    } catch (e) {
      const error = (e as Error).stack ?? String(e);
      failures.push({ section: name, error });
      console.error(`\n${name} FAILED: ${error}`);
    }
  }

  console.log(`\n[${elapsed()}] === summary ===`);
  for (const s of sections) printFigures(s.title, s.figures);
  const targets = sections.flatMap((s) => s.figures.filter((f) => f.met !== undefined));
  console.log(
    `\ndesign targets: ${targets.filter((f) => f.met).length} met, ${targets.filter((f) => !f.met).length} missed` +
      (failures.length > 0
        ? `; ${failures.length} section(s) FAILED: ${failures.map((f) => f.section).join(', ')}`
        : ''),
  );

  const result = {
    startedAt: startedAt.toISOString(),
    smoke: SMOKE,
    seconds: Number.parseFloat(elapsed()),
    machine: machine(),
    sections,
    failures,
  };
  mkdirSync(RESULTS, { recursive: true });
  const stamp = `${startedAt.toISOString().replace(/[:.]/g, '-')}${SMOKE ? '-smoke' : ''}`;
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(join(RESULTS, `${stamp}.json`), json);
  writeFileSync(join(RESULTS, 'latest.json'), json);
  writeFileSync(join(RESULTS, 'latest.md'), markdownTable(sections));
  writeFileSync(
    join(RESULTS, 'latest.svg'),
    svgChart(
      `gregor bench, ${startedAt.toISOString().slice(0, 10)}${SMOKE ? ' (smoke run)' : ''}: ` +
        `${machine().cores} cores, same-run baselines`,
      panels(sections),
      'gregord',
    ),
  );
  console.log(
    `\nresults: ${join(RESULTS, `${stamp}.json`)}, latest.json, latest.md, latest.svg (${elapsed()})`,
  );
  if (failures.length > 0) process.exitCode = 1;
}

await main();
