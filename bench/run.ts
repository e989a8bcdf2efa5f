/**
 * The benchmark suite (`npm run bench [-- --smoke]`): on loopback, gregord, the bare `ws`
 * baseline (bench/lib/bare-server.ts) and a Socket.IO + @socket.io/redis-adapter server that
 * persists each message to PostgreSQL before emitting it (bench/socketio/server.ts), under the
 * same load generator (bench/lib/inject.ts, 64 injects in flight, gregord's bench payload).
 *
 * Figures so far: fan-out max deliveries/s at 1,000 devices (100 users × 10; interleaved) and
 * 10,000 devices (1,000 users × 10; one server at a time: three servers' 10,000 client sockets
 * would not fit this process's open-file limit at once; skipped under --smoke). Every phase
 * shows one progress line. Results: bench/results/<timestamp>.json, bench/results/latest.json,
 * and a bar chart bench/results/latest.svg.
 *
 *   npx tsx bench/run.ts [--smoke]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type FanoutTarget, startFanoutTarget } from './lib/fanout-target.js';
import { closedLoop } from './lib/inject.js';
import { openFileLimit, sleep } from './lib/proc.js';
import { type Figure, percentile, printFigures, SMOKE } from './report.js';
import { startSocketIoTarget } from './socketio/target.js';

const DEVICES_PER_USER = 10;
const IN_FLIGHT = 64;
const SIZES = SMOKE ? [1_000] : [1_000, 10_000];
const WARMUP_MESSAGES = SMOKE ? 1_000 : 3_000;
const MAX_MESSAGES = SMOKE ? 2_000 : 10_000;
const MAX_ROUNDS = SMOKE ? 1 : 3;
/** A phase whose deliveries have not all arrived by then is reported as incomplete. */
const DRAIN_MS = 10_000;
/** The whole suite's time bound: a size that would start after it is skipped, and says so. */
const BUDGET_MS = SMOKE ? 50_000 : 12 * 60_000;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

type Kind = 'gregord' | 'bare' | 'socketio';
const KINDS: readonly Kind[] = ['gregord', 'bare', 'socketio'];

interface Round {
  deliveries: number;
  expected: number;
  seconds: number;
  perSecond: number;
  serverCpuSeconds: number;
  generatorCores: number;
}

interface SizeResult {
  devices: number;
  users: number;
  interleaved: boolean;
  skipped?: string;
  servers: Partial<Record<Kind, { name: string; rounds: Round[]; medianPerSecond: number }>>;
}

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const tty = process.stdout.isTTY;

/** One line per phase: redrawn in place on a terminal, printed once when done otherwise. */
function progress(label: string): { update(text: string): void; done(text: string): void } {
  let last = 0;
  return {
    update(text) {
      if (!tty || performance.now() - last < 100) return;
      last = performance.now();
      process.stdout.write(`\r\x1b[2K[${elapsed()}] ${label}: ${text}`);
    },
    done(text) {
      process.stdout.write(`${tty ? '\r\x1b[2K' : ''}[${elapsed()}] ${label}: ${text}\n`);
    },
  };
}

async function start(kind: Kind, users: number): Promise<FanoutTarget> {
  const p = progress(`start ${kind}, ${users * DEVICES_PER_USER} devices`);
  p.update('connecting');
  const t =
    kind === 'socketio'
      ? await startSocketIoTarget(users, DEVICES_PER_USER)
      : await startFanoutTarget(kind, users, DEVICES_PER_USER);
  p.done(`${t.name} ready (pid ${t.child.pid})`);
  return t;
}

/** Sends `messages` closed-loop, then waits until all `messages × devices` deliveries arrived. */
async function maxPhase(t: FanoutTarget, messages: number, label: string): Promise<Round> {
  const p = progress(label);
  const expected = messages * DEVICES_PER_USER;
  t.sink.deliveries = 0;
  t.sink.samples = null;
  const cpu0 = t.cpuSeconds();
  const self0 = process.cpuUsage();
  const start = performance.now();
  const ticker = setInterval(() => p.update(`${t.sink.deliveries}/${expected} deliveries`), 100);
  try {
    await closedLoop(messages, IN_FLIGHT, (i) => t.inject(i));
    const deadline = performance.now() + DRAIN_MS;
    while (t.sink.deliveries < expected && performance.now() < deadline) await sleep(1);
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - start) / 1000;
  const self = process.cpuUsage(self0);
  const round: Round = {
    deliveries: t.sink.deliveries,
    expected,
    seconds,
    perSecond: t.sink.deliveries / seconds,
    serverCpuSeconds: t.cpuSeconds() - cpu0,
    generatorCores: (self.user + self.system) / 1e6 / seconds,
  };
  const missing = round.deliveries < expected ? `, ONLY ${round.deliveries} of ${expected} arrived` : '';
  // Near one core the load generator, not the server, may be the limit of this figure.
  const bound = round.generatorCores >= 0.95 ? ' (generator-bound: a floor for this server)' : '';
  p.done(
    `${Math.round(round.perSecond).toLocaleString('en-US')} deliveries/s, ` +
      `generator ${round.generatorCores.toFixed(2)} cores${bound}${missing}`,
  );
  return round;
}

const record = (r: SizeResult, t: FanoutTarget, kind: Kind, round: Round) => {
  const s = r.servers[kind] ?? { name: t.name, rounds: [], medianPerSecond: 0 };
  s.rounds.push(round);
  s.medianPerSecond = percentile(
    s.rounds.map((x) => x.perSecond),
    50,
  );
  r.servers[kind] = s;
};

/** All three servers up at once, rounds interleaved (g, b, s, then rotated) against load bursts. */
async function interleaved(users: number, r: SizeResult): Promise<void> {
  const targets = new Map<Kind, FanoutTarget>();
  try {
    for (const kind of KINDS) targets.set(kind, await start(kind, users));
    for (const [kind, t] of targets) await maxPhase(t, WARMUP_MESSAGES, `warm-up ${kind}`);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
      for (const kind of order) {
        const t = targets.get(kind)!;
        record(r, t, kind, await maxPhase(t, MAX_MESSAGES, `max ${kind} round ${round + 1}/${MAX_ROUNDS}`));
      }
    }
    warnCloses(targets);
  } finally {
    await Promise.all([...targets.values()].map((t) => t.close()));
  }
}

/** One server at a time (started, warmed up, measured, stopped). */
async function sequential(users: number, r: SizeResult): Promise<void> {
  for (const kind of KINDS) {
    const t = await start(kind, users);
    try {
      await maxPhase(t, WARMUP_MESSAGES, `warm-up ${kind}`);
      for (let round = 0; round < MAX_ROUNDS; round++)
        record(r, t, kind, await maxPhase(t, MAX_MESSAGES, `max ${kind} round ${round + 1}/${MAX_ROUNDS}`));
      warnCloses(new Map([[kind, t]]));
    } finally {
      await t.close();
    }
  }
}

function warnCloses(targets: ReadonlyMap<Kind, FanoutTarget>): void {
  for (const t of targets.values())
    if (t.sink.unexpectedCloses > 0) console.warn(`  ${t.name} closed ${t.sink.unexpectedCloses} devices`);
}

/** A bar chart of the median max deliveries/s, one group per size, one bar per server. */
function svgChart(sizes: readonly SizeResult[]): string {
  const colors: Record<Kind, string> = { gregord: '#2b6cb0', bare: '#718096', socketio: '#dd6b20' };
  const measured = sizes.filter((s) => !s.skipped);
  const max = Math.max(1, ...measured.flatMap((s) => KINDS.map((k) => s.servers[k]?.medianPerSecond ?? 0)));
  const barW = 60;
  const gap = 12;
  const groupW = KINDS.length * (barW + gap) + 40;
  const left = 90;
  const top = 50;
  const plotH = 260;
  const width = Math.max(520, left + Math.max(1, sizes.length) * groupW + 20);
  const height = top + plotH + 110;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="bold">Fan-out: max deliveries/s (median${SMOKE ? ', smoke run' : ''})</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    out.push(
      `<line x1="${left - 4}" y1="${y}" x2="${width - 10}" y2="${y}" stroke="#e2e8f0"/>`,
      `<text x="${left - 8}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  sizes.forEach((s, g) => {
    const x0 = left + 20 + g * groupW;
    const label = `${s.devices.toLocaleString('en-US')} devices${s.skipped ? ' (skipped)' : s.interleaved ? '' : ' (one server at a time)'}`;
    out.push(
      `<text x="${x0 + (groupW - 40) / 2}" y="${top + plotH + 20}" text-anchor="middle">${esc(label)}</text>`,
    );
    KINDS.forEach((k, i) => {
      const v = s.servers[k]?.medianPerSecond;
      if (v === undefined) return;
      const h = Math.round(((plotH * v) / max) * 10) / 10;
      const x = x0 + i * (barW + gap);
      out.push(
        `<rect x="${x}" y="${top + plotH - h}" width="${barW}" height="${h}" fill="${colors[k]}"/>`,
        `<text x="${x + barW / 2}" y="${top + plotH - h - 4}" text-anchor="middle">${fmt(v)}</text>`,
      );
    });
  });
  KINDS.forEach((k, i) => {
    const y = top + plotH + 45 + i * 18;
    const name = measured.map((s) => s.servers[k]?.name).find(Boolean) ?? k;
    out.push(
      `<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${colors[k]}"/>`,
      `<text x="${left + 18}" y="${y}">${esc(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  console.log(
    `gregor bench suite${SMOKE ? ' (smoke)' : ''}: fan-out max deliveries/s, gregord vs bare ws vs ` +
      `Socket.IO + redis-adapter; loopback, ${cpus().length} cores shared by servers and load generator`,
  );
  const startedAt = new Date();
  const sizes: SizeResult[] = [];
  for (const devices of SIZES) {
    const users = devices / DEVICES_PER_USER;
    // Three servers' client sockets at once, plus their servers' descriptors in this process's limit.
    const fits = 3 * devices + 1_000 <= openFileLimit();
    const r: SizeResult = { devices, users, interleaved: fits, servers: {} };
    sizes.push(r);
    const spent = performance.now() - t0;
    if (sizes.length > 1 && spent > BUDGET_MS / 3) {
      r.skipped = `time bound: ${Math.round(spent / 1000)} s already spent of a ${BUDGET_MS / 1000} s budget`;
      console.log(`[${elapsed()}] ${devices} devices SKIPPED (${r.skipped})`);
      continue;
    }
    console.log(
      `[${elapsed()}] ${devices} devices (${users} users × ${DEVICES_PER_USER}), ` +
        (fits ? 'interleaved' : `one server at a time (open-file limit ${openFileLimit()})`),
    );
    if (fits) await interleaved(users, r);
    else await sequential(users, r);
  }

  for (const r of sizes) {
    if (r.skipped) continue;
    const g = r.servers.gregord!;
    const b = r.servers.bare!;
    const s = r.servers.socketio!;
    const figures: Figure[] = [
      {
        name: 'fan-out deliveries/s (max)',
        value: g.medianPerSecond,
        unit: '/s',
        baseline: { name: 'bare ws', value: b.medianPerSecond },
        target: '≥ 0.8× bare',
      },
      {
        name: 'fan-out deliveries/s (max) vs Socket.IO',
        value: g.medianPerSecond,
        unit: '/s',
        baseline: { name: 'Socket.IO+redis+PG', value: s.medianPerSecond },
      },
    ];
    printFigures(
      `Fan-out, ${r.devices.toLocaleString('en-US')} devices (${r.users} users × ${DEVICES_PER_USER}; ` +
        `${MAX_ROUNDS}× ${MAX_MESSAGES} messages, median; ${r.interleaved ? 'interleaved' : 'one server at a time'})`,
      figures,
    );
  }
  for (const r of sizes) if (r.skipped) console.log(`\n${r.devices} devices: skipped (${r.skipped})`);

  const result = {
    startedAt: startedAt.toISOString(),
    smoke: SMOKE,
    seconds: (performance.now() - t0) / 1000,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    load: {
      devicesPerUser: DEVICES_PER_USER,
      inFlight: IN_FLIGHT,
      warmupMessages: WARMUP_MESSAGES,
      maxMessages: MAX_MESSAGES,
      rounds: MAX_ROUNDS,
    },
    fanout: sizes,
    missing: [
      'latency p50/p95/p99 at half the max rate',
      'durable ingest messages/s',
      'memory per idle connection',
      'reconnect bytes after missing k messages',
    ],
  };
  mkdirSync(RESULTS, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileSync(`${RESULTS}${stamp}${SMOKE ? '-smoke' : ''}.json`, json);
  writeFileSync(`${RESULTS}latest.json`, json);
  writeFileSync(`${RESULTS}latest.svg`, svgChart(sizes));
  console.log(
    `\nresults: bench/results/${stamp}${SMOKE ? '-smoke' : ''}.json, latest.json, latest.svg (${elapsed()})`,
  );
}

await main();
