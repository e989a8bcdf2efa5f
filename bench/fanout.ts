/**
 * Fan-out: 1,000 WebSocket devices (100 users × 10), messages injected over HTTP, each to the 10
 * devices of one user (round-robin over users). gregord (SQLite, durable before delivery) next
 * to a bare `ws` broadcast server (bench/lib/bare-server.ts), both in child processes, measured
 * in the same run with their phases interleaved:
 * - max deliveries/s: a fixed number of messages, 64 injects in flight;
 * - inject → device latency p50/p99 at a fixed 10k deliveries/s (1k messages/s);
 * - CPU per delivery of each server process (/proc/<pid>/stat).
 *
 *   npx tsx bench/fanout.ts [--smoke]
 */
import { type FanoutTarget, startFanoutTarget } from './lib/fanout-target.js';
import { closedLoop, fixedRate } from './lib/inject.js';
import { sleep } from './lib/proc.js';
import { type Figure, percentile, printFigures, SMOKE } from './report.js';

const USERS = SMOKE ? 5 : 100;
const DEVICES_PER_USER = 10;
const WARMUP_MESSAGES = SMOKE ? 100 : 3_000;
const MAX_MESSAGES = SMOKE ? 300 : 10_000;
const MAX_ROUNDS = SMOKE ? 1 : 3;
const IN_FLIGHT = 64;
const RATE = SMOKE ? 200 : 1_000;
const RATE_SECONDS = SMOKE ? 1.5 : 5;
/** A light rate as well, to tell queueing (saturation) apart from the per-message path. */
const LIGHT_RATE = SMOKE ? 50 : 200;
const RATE_ROUNDS = SMOKE ? 1 : 2;
/** A phase whose deliveries have not all arrived by then is reported as incomplete. */
const DRAIN_MS = 10_000;

interface Run {
  deliveries: number;
  expected: number;
  seconds: number;
  cpu: number;
  samples: number[];
  /** CPU the load generator (this process) used, in cores: near 1 means it is the bottleneck. */
  generatorCores: number;
}

/** Sends messages with `drive`, then waits until all `messages × devices` deliveries arrived. */
async function phase(
  t: FanoutTarget,
  messages: number,
  drive: (send: (i: number) => Promise<void>) => Promise<void>,
  record: boolean,
): Promise<Run> {
  const expected = messages * DEVICES_PER_USER;
  t.sink.deliveries = 0;
  t.sink.samples = record ? [] : null;
  const cpu0 = t.cpuSeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await drive((i) => t.inject(i));
  const deadline = performance.now() + DRAIN_MS;
  while (t.sink.deliveries < expected && performance.now() < deadline) await sleep(1);
  const seconds = (performance.now() - t0) / 1000;
  const run = {
    deliveries: t.sink.deliveries,
    expected,
    seconds,
    cpu: t.cpuSeconds() - cpu0,
    samples: t.sink.samples ?? [],
    generatorCores: 0,
  };
  const self = process.cpuUsage(self0);
  run.generatorCores = (self.user + self.system) / 1e6 / seconds;
  t.sink.samples = null;
  if (run.deliveries !== expected)
    console.warn(`  ${t.name}: only ${run.deliveries} of ${expected} deliveries arrived`);
  return run;
}

const maxPhase = (t: FanoutTarget) =>
  phase(t, MAX_MESSAGES, (send) => closedLoop(MAX_MESSAGES, IN_FLIGHT, send), false);
const ratePhase = (t: FanoutTarget, rate: number) =>
  phase(t, Math.round(rate * RATE_SECONDS), (send) => fixedRate(rate, RATE_SECONDS, send), true);
const cores = (r: Run) => `generator ${r.generatorCores.toFixed(2)} cores`;

const median = (xs: number[]) => percentile(xs, 50);
const sum = (runs: Run[], f: (r: Run) => number) => runs.reduce((a, r) => a + f(r), 0);

async function main(): Promise<void> {
  console.log(
    `fan-out: ${USERS * DEVICES_PER_USER} devices (${USERS} users × ${DEVICES_PER_USER}), ` +
      `figures from a shared 2-core machine (server, baseline and load generator on the same cores)`,
  );
  const targets: FanoutTarget[] = [];
  try {
    targets.push(await startFanoutTarget('gregord', USERS, DEVICES_PER_USER));
    targets.push(await startFanoutTarget('bare', USERS, DEVICES_PER_USER));
    const [gregord, bare] = targets as [FanoutTarget, FanoutTarget];
    for (const t of targets)
      await phase(t, WARMUP_MESSAGES, (send) => closedLoop(WARMUP_MESSAGES, IN_FLIGHT, send), false);

    const max = new Map<FanoutTarget, Run[]>(targets.map((t) => [t, []]));
    const rate = new Map<FanoutTarget, Run[]>(targets.map((t) => [t, []]));
    const light = new Map<FanoutTarget, Run[]>(targets.map((t) => [t, []]));
    // Interleaved, so a burst of load from other processes hits both servers alike.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      for (const t of round % 2 === 0 ? [gregord, bare] : [bare, gregord]) {
        const run = await maxPhase(t);
        max.get(t)!.push(run);
        console.log(
          `  max ${t.name}: ${Math.round(run.deliveries / run.seconds)} deliveries/s, ${cores(run)}`,
        );
      }
    }
    for (let round = 0; round < RATE_ROUNDS; round++) {
      for (const t of round % 2 === 0 ? [gregord, bare] : [bare, gregord]) {
        for (const [perSecond, runs] of [
          [RATE, rate],
          [LIGHT_RATE, light],
        ] as const) {
          if (perSecond === LIGHT_RATE && round > 0) continue;
          const run = await ratePhase(t, perSecond);
          runs.get(t)!.push(run);
          console.log(
            `  ${perSecond * DEVICES_PER_USER}/s ${t.name}: p50 ${percentile(run.samples, 50).toFixed(2)} ms, ` +
              `p99 ${percentile(run.samples, 99).toFixed(2)} ms, ${cores(run)}`,
          );
        }
      }
    }
    for (const t of targets)
      if (t.sink.unexpectedCloses > 0)
        console.warn(`  ${t.name} closed ${t.sink.unexpectedCloses} devices during the run`);

    const perSecond = (t: FanoutTarget) => median(max.get(t)!.map((r) => r.deliveries / r.seconds));
    const cpuPer = (runs: Run[]) => (sum(runs, (r) => r.cpu) / sum(runs, (r) => r.deliveries)) * 1e6;
    const latency = (t: FanoutTarget, p: number, runs = rate) =>
      percentile(
        runs.get(t)!.flatMap((r) => r.samples),
        p,
      );
    const b = bare.name;
    const figures: Figure[] = [
      {
        name: 'fan-out deliveries/s (max)',
        value: perSecond(gregord),
        unit: '/s',
        baseline: { name: b, value: perSecond(bare) },
        target: '≥ 0.8× bare',
      },
      {
        name: 'CPU per delivery (max load)',
        value: cpuPer(max.get(gregord)!),
        unit: 'µs',
        baseline: { name: b, value: cpuPer(max.get(bare)!) },
        target: '≤ 1.25× bare',
      },
      {
        name: `latency p50 at ${RATE * DEVICES_PER_USER} deliveries/s`,
        value: latency(gregord, 50),
        unit: 'ms',
        baseline: { name: b, value: latency(bare, 50) },
        target: '≤ 1 ms',
      },
      {
        name: `latency p99 at ${RATE * DEVICES_PER_USER} deliveries/s`,
        value: latency(gregord, 99),
        unit: 'ms',
        baseline: { name: b, value: latency(bare, 99) },
        target: '≤ 3 ms',
      },
      {
        name: `latency p50 at ${LIGHT_RATE * DEVICES_PER_USER} deliveries/s`,
        value: latency(gregord, 50, light),
        unit: 'ms',
        baseline: { name: b, value: latency(bare, 50, light) },
      },
      {
        name: `latency p99 at ${LIGHT_RATE * DEVICES_PER_USER} deliveries/s`,
        value: latency(gregord, 99, light),
        unit: 'ms',
        baseline: { name: b, value: latency(bare, 99, light) },
      },
      {
        name: `CPU per delivery at ${RATE * DEVICES_PER_USER}/s`,
        value: cpuPer(rate.get(gregord)!),
        unit: 'µs',
        baseline: { name: b, value: cpuPer(rate.get(bare)!) },
        target: '≤ 1.25× bare',
      },
    ];
    printFigures(
      `Fan-out (${USERS * DEVICES_PER_USER} devices; max: ${MAX_ROUNDS}× ${MAX_MESSAGES} messages, median; ` +
        `latency: ${RATE_ROUNDS}× ${RATE_SECONDS} s; shared 2-core machine)`,
      figures,
    );
  } finally {
    await Promise.all(targets.map((t) => t.close()));
  }
}

await main();
