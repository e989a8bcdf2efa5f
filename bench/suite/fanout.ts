/**
 * Fan-out: gregord, the bare `ws` baseline and Socket.IO + redis-adapter, each in a child process,
 * devices of `users × 10` connected from this process, messages injected over HTTP (message i to
 * user i mod users, i.e. to its 10 devices). A delivery is one message frame arriving at one device.
 *
 * - max deliveries/s: closed loop, 64 injects in flight, median of rounds;
 * - inject → device latency p50/p95/p99, open loop, at half of each server's own max rate and at
 *   the design's fixed 10k deliveries/s;
 * - CPU per delivery: the server process plus every `postgres` and `redis-server` process (the
 *   design counts "server + its database + Redis"; gregord's SQLite is inside its process).
 *
 * At 1,000 devices the three servers are up at once and their rounds interleaved, so a burst of
 * load from elsewhere hits all alike. At 10,000 devices one server runs at a time (three servers'
 * 10,000 client sockets do not fit this process's open-file limit), max deliveries/s only.
 *
 *   npx tsx bench/suite/fanout.ts [--smoke]
 */
import { pathToFileURL } from 'node:url';
import { type FanoutTarget, startFanoutTarget } from '../lib/fanout-target.js';
import { closedLoop, fixedRate } from '../lib/inject.js';
import { namedCpu, namedCpuSince, openFileLimit, sleep } from '../lib/proc.js';
import { SERVER_KINDS, SERVER_NAMES, type ServerKind } from '../lib/servers.js';
import { type Baseline, type Figure, percentile, printFigures, SMOKE } from '../report.js';
import { startSocketIoTarget } from '../socketio/target.js';
import { progress } from './progress.js';
import type { SectionOptions, SectionResult } from './section.js';

type Kind = ServerKind;
const KINDS = SERVER_KINDS;

const DEVICES_PER_USER = 10;
const IN_FLIGHT = 64;
/** A phase whose deliveries have not all arrived by then is reported as incomplete. */
const DRAIN_MS = 10_000;
/** The processes whose CPU counts as the server's besides its own (its database, Redis). */
const SERVICES = ['postgres', 'redis-server'];
/** The design's latency target is stated at this rate. */
const DESIGN_RATE = 10_000;

interface Settings {
  readonly sizes: readonly number[];
  readonly warmup: number;
  readonly messages: number;
  readonly rounds: number;
  readonly rateSeconds: number;
  readonly rateRounds: number;
}

const settings = (smoke: boolean): Settings =>
  smoke
    ? { sizes: [1_000], warmup: 1_000, messages: 2_000, rounds: 1, rateSeconds: 1, rateRounds: 1 }
    : { sizes: [1_000, 10_000], warmup: 3_000, messages: 10_000, rounds: 3, rateSeconds: 5, rateRounds: 2 };

/** One phase of one server. */
export interface Phase {
  deliveries: number;
  expected: number;
  seconds: number;
  perSecond: number;
  /** Server process + postgres + redis-server, over the phase. */
  cpuSeconds: number;
  /** CPU this process (the load generator) used, in cores: near 1 it may be the limit. */
  generatorCores: number;
  /** Latency samples' percentiles (ms), for rate phases. */
  latency?: { p50: number; p95: number; p99: number; samples: number };
}

interface ServerRuns {
  name: string;
  max: Phase[];
  half: Phase[];
  design: Phase[];
}

type Runs = Partial<Record<Kind, ServerRuns>>;

async function start(kind: Kind, users: number): Promise<FanoutTarget> {
  const p = progress(`start ${kind}, ${(users * DEVICES_PER_USER).toLocaleString('en-US')} devices`);
  p.update('connecting');
  const t =
    kind === 'socketio'
      ? await startSocketIoTarget(users, DEVICES_PER_USER)
      : await startFanoutTarget(kind, users, DEVICES_PER_USER);
  p.done(`${t.name} ready (pid ${t.child.pid})`);
  return t;
}

/** Sends `messages` with `drive`, then waits until all `messages × devices` deliveries arrived. */
async function phase(
  t: FanoutTarget,
  label: string,
  messages: number,
  drive: (send: (i: number) => Promise<void>) => Promise<void>,
  recordLatency: boolean,
): Promise<Phase> {
  const p = progress(label);
  const expected = messages * DEVICES_PER_USER;
  t.sink.deliveries = 0;
  t.sink.samples = recordLatency ? [] : null;
  const cpu0 = t.cpuSeconds();
  const services0 = namedCpu(SERVICES);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const ticker = setInterval(() => p.update(`${t.sink.deliveries}/${expected} deliveries`), 100);
  try {
    await drive((i) => t.inject(i));
    const deadline = performance.now() + DRAIN_MS;
    while (t.sink.deliveries < expected && performance.now() < deadline) await sleep(1);
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const samples = t.sink.samples ?? [];
  t.sink.samples = null;
  const result: Phase = {
    deliveries: t.sink.deliveries,
    expected,
    seconds,
    perSecond: t.sink.deliveries / seconds,
    cpuSeconds: t.cpuSeconds() - cpu0 + namedCpuSince(services0, SERVICES),
    generatorCores: (self.user + self.system) / 1e6 / seconds,
    ...(recordLatency
      ? {
          latency: {
            p50: percentile(samples, 50),
            p95: percentile(samples, 95),
            p99: percentile(samples, 99),
            samples: samples.length,
          },
        }
      : {}),
  };
  const missing = result.deliveries < expected ? `, ONLY ${result.deliveries} of ${expected} arrived` : '';
  const bound = result.generatorCores >= 0.95 ? ' (generator-bound: a floor for this server)' : '';
  const l = result.latency;
  p.done(
    (l
      ? `p50 ${l.p50.toFixed(2)} ms, p95 ${l.p95.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`
      : `${Math.round(result.perSecond).toLocaleString('en-US')} deliveries/s`) +
      `, generator ${result.generatorCores.toFixed(2)} cores${bound}${missing}`,
  );
  return result;
}

const maxPhase = (t: FanoutTarget, label: string, messages: number) =>
  phase(t, label, messages, (send) => closedLoop(messages, IN_FLIGHT, send), false);

/** Open loop at `deliveriesPerSecond` (messages/s × 10 devices) for `seconds`. */
const ratePhase = (t: FanoutTarget, label: string, deliveriesPerSecond: number, seconds: number) => {
  const perSecond = deliveriesPerSecond / DEVICES_PER_USER;
  return phase(
    t,
    label,
    Math.round(perSecond * seconds),
    (send) => fixedRate(perSecond, seconds, send),
    true,
  );
};

const runsOf = (runs: Runs, kind: Kind, t: FanoutTarget): ServerRuns => {
  const r = runs[kind] ?? { name: t.name, max: [], half: [], design: [] };
  runs[kind] = r;
  return r;
};

const medianRate = (phases: readonly Phase[]) =>
  percentile(
    phases.map((x) => x.perSecond),
    50,
  );

/** Each round visits the servers in a rotated order. */
const rotated = (round: number) => KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);

/** All three servers up at once: max rounds, then latency rounds, interleaved. */
async function interleaved(users: number, s: Settings): Promise<Runs> {
  const runs: Runs = {};
  const targets = new Map<Kind, FanoutTarget>();
  try {
    for (const kind of KINDS) targets.set(kind, await start(kind, users));
    for (const [kind, t] of targets) await maxPhase(t, `warm-up ${kind}`, s.warmup);
    for (let round = 0; round < s.rounds; round++)
      for (const kind of rotated(round)) {
        const t = targets.get(kind)!;
        runsOf(runs, kind, t).max.push(
          await maxPhase(t, `max ${kind} round ${round + 1}/${s.rounds}`, s.messages),
        );
      }
    for (let round = 0; round < s.rateRounds; round++)
      for (const kind of rotated(round)) {
        const t = targets.get(kind)!;
        const r = runsOf(runs, kind, t);
        const half = medianRate(r.max) / 2;
        const of = `round ${round + 1}/${s.rateRounds}`;
        r.half.push(
          await ratePhase(t, `${kind} at half max (${fmtRate(half)}/s) ${of}`, half, s.rateSeconds),
        );
        r.design.push(
          await ratePhase(t, `${kind} at ${fmtRate(DESIGN_RATE)}/s ${of}`, DESIGN_RATE, s.rateSeconds),
        );
      }
    warnCloses(targets);
  } finally {
    await Promise.all([...targets.values()].map((t) => t.close()));
  }
  return runs;
}

/** One server at a time (started, warmed up, measured, stopped); max deliveries/s only. */
async function sequential(users: number, s: Settings): Promise<Runs> {
  const runs: Runs = {};
  for (const kind of KINDS) {
    const t = await start(kind, users);
    try {
      await maxPhase(t, `warm-up ${kind}`, s.warmup);
      for (let round = 0; round < s.rounds; round++)
        runsOf(runs, kind, t).max.push(
          await maxPhase(t, `max ${kind} round ${round + 1}/${s.rounds}`, s.messages),
        );
      warnCloses(new Map([[kind, t]]));
    } finally {
      await t.close();
    }
  }
  return runs;
}

function warnCloses(targets: ReadonlyMap<Kind, FanoutTarget>): void {
  for (const t of targets.values())
    if (t.sink.unexpectedCloses > 0) console.warn(`  ${t.name} closed ${t.sink.unexpectedCloses} devices`);
}

const fmtRate = (v: number) => Math.round(v).toLocaleString('en-US');

/** CPU microseconds per delivery over a set of phases. */
const cpuPerDelivery = (phases: readonly Phase[]) =>
  (phases.reduce((a, p) => a + p.cpuSeconds, 0) / phases.reduce((a, p) => a + p.deliveries, 0)) * 1e6;

/** The latency percentile over phases: the median of the rounds' percentiles. */
const latencyOf = (phases: readonly Phase[], p: 'p50' | 'p95' | 'p99') =>
  percentile(
    phases.map((x) => x.latency![p]),
    50,
  );

/** gregord's figure with bare ws as the baseline and Socket.IO as a further comparison. */
function compare(
  runs: Runs,
  name: string,
  unit: string,
  of: (r: ServerRuns) => number,
  target?: { text: string; met: (gregord: number, bare: number, socketio: number) => boolean },
): Figure {
  const [g, b, s] = KINDS.map((k) => of(runs[k]!)) as [number, number, number];
  const baseline: Baseline = { name: SERVER_NAMES.bare, value: b };
  return {
    name,
    value: g,
    unit,
    baseline,
    also: [{ name: SERVER_NAMES.socketio, value: s }],
    ...(target ? { target: target.text, met: target.met(g, b, s) } : {}),
  };
}

function sizeSection(
  devices: number,
  users: number,
  s: Settings,
  runs: Runs,
  interleaved: boolean,
): SectionResult {
  const figures: Figure[] = [
    compare(runs, 'fan-out deliveries/s (max)', '/s', (r) => medianRate(r.max), {
      text: '≥ 0.8× bare',
      met: (g, b) => g >= 0.8 * b,
    }),
    compare(runs, 'CPU per delivery at max (server + DB + Redis)', 'µs', (r) => cpuPerDelivery(r.max), {
      text: '≤ 1.25× bare; ≤ 1/2.8 of Socket.IO',
      met: (g, b, sio) => g <= 1.25 * b && g * 2.8 <= sio,
    }),
  ];
  if (interleaved && runs.gregord!.half.length > 0) {
    for (const p of ['p50', 'p95', 'p99'] as const)
      figures.push(compare(runs, `latency ${p} at half own max rate`, 'ms', (r) => latencyOf(r.half, p)));
    const design = `${fmtRate(DESIGN_RATE)} deliveries/s`;
    figures.push(
      compare(runs, `latency p50 at ${design}`, 'ms', (r) => latencyOf(r.design, 'p50'), {
        text: '≤ 1 ms',
        met: (g) => g <= 1,
      }),
      compare(runs, `latency p95 at ${design}`, 'ms', (r) => latencyOf(r.design, 'p95')),
      compare(runs, `latency p99 at ${design}`, 'ms', (r) => latencyOf(r.design, 'p99'), {
        text: '≤ 3 ms',
        met: (g) => g <= 3,
      }),
      compare(runs, `CPU per delivery at ${design}`, 'µs', (r) => cpuPerDelivery(r.design), {
        text: '≤ 1.25× bare',
        met: (g, b) => g <= 1.25 * b,
      }),
    );
  }
  const how = interleaved ? 'interleaved' : 'one server at a time';
  return {
    title:
      `Fan-out, ${devices.toLocaleString('en-US')} devices (${users} users × ${DEVICES_PER_USER}; ` +
      `max: ${s.rounds}× ${s.messages.toLocaleString('en-US')} messages, median` +
      (interleaved ? `; latency: ${s.rateRounds}× ${s.rateSeconds} s per rate, median of rounds` : '') +
      `; ${how})`,
    figures,
    details: {
      devices,
      users,
      devicesPerUser: DEVICES_PER_USER,
      inFlight: IN_FLIGHT,
      interleaved,
      settings: s,
      servers: runs,
    },
  };
}

/**
 * Runs the fan-out phases at every size; one section per size.
 *
 * @example
 *   for (const s of await runFanout({ smoke: true })) printFigures(s.title, s.figures);
 */
export async function runFanout(o: SectionOptions): Promise<SectionResult[]> {
  const s = settings(o.smoke);
  const sections: SectionResult[] = [];
  for (const devices of s.sizes) {
    const users = devices / DEVICES_PER_USER;
    // Three servers' client sockets at once, plus spare descriptors, within this process's limit.
    const fits = 3 * devices + 1_000 <= openFileLimit();
    console.log(
      `fan-out, ${devices.toLocaleString('en-US')} devices: ` +
        (fits ? 'interleaved' : `one server at a time (open-file limit ${openFileLimit()})`),
    );
    const runs = fits ? await interleaved(users, s) : await sequential(users, s);
    sections.push(sizeSection(devices, users, s, runs, fits));
  }
  return sections;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const section of await runFanout({ smoke: SMOKE })) printFigures(section.title, section.figures);
}
