/**
 * The core state machine's speed: consume rate of the memory engine, and state() latency for a
 * user with 10k items. Baselines from the same run: a plain Map insert loop (the floor of any
 * in-memory store) and copying and sorting the same 10k items.
 *
 *   npx tsx bench/core.ts [--smoke]
 */
import { performance } from 'node:perf_hooks';
import type { Message } from '../src/protocol/message.js';
import { parseMessage } from '../src/protocol/validate.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { benchCreate } from './lib/messages.js';
import { type Figure, percentile, printFigures, SMOKE } from './report.js';

const MESSAGES = SMOKE ? 5_000 : 200_000;
const USERS = 1_000;
const ITEMS = SMOKE ? 1_000 : 10_000;
const STATE_CALLS = SMOKE ? 20 : 200;
const NOW = 1_700_000_000_000;

async function consumeRate(): Promise<Figure[]> {
  const wire = Array.from({ length: MESSAGES }, (_, i) => benchCreate(i));
  let t0 = performance.now();
  const messages: Message[] = wire.map((w, i) => parseMessage(w, { uid: `u${i % USERS}`, now: NOW + i }));
  const parseSeconds = (performance.now() - t0) / 1000;

  const engine = new MemoryEngine({ now: () => NOW });
  t0 = performance.now();
  for (const m of messages) await engine.consumeMessage(m);
  const consumeSeconds = (performance.now() - t0) / 1000;

  const plain = new Map<string, Map<string, unknown>>();
  t0 = performance.now();
  for (const m of messages) {
    if (m.kind !== 'update') continue;
    let user = plain.get(m.md.uid);
    if (!user) {
      user = new Map();
      plain.set(m.md.uid, user);
    }
    for (const item of m.create) user.set(item.id, item);
    await Promise.resolve();
  }
  const plainSeconds = (performance.now() - t0) / 1000;
  return [
    {
      name: 'consume (memory engine)',
      value: MESSAGES / consumeSeconds,
      unit: 'msg/s',
      baseline: { name: 'Map.set loop', value: MESSAGES / plainSeconds },
    },
    { name: 'parse + validate', value: MESSAGES / parseSeconds, unit: 'msg/s' },
  ];
}

async function stateLatency(): Promise<Figure[]> {
  const engine = new MemoryEngine({ now: () => NOW });
  for (let i = 0; i < ITEMS; i++)
    await engine.consumeMessage(parseMessage(benchCreate(i), { uid: 'big', now: NOW - ITEMS + i }));
  const items = [...(await engine.state('big')).items];
  const timings: Record<string, number[]> = { global: [], device: [], past: [], baseline: [] };
  for (let i = 0; i < STATE_CALLS; i++) {
    let t0 = performance.now();
    await engine.state('big');
    timings.global!.push(performance.now() - t0);
    t0 = performance.now();
    await engine.state('big', 'phone');
    timings.device!.push(performance.now() - t0);
    t0 = performance.now();
    await engine.state('big', null, { offset: -ITEMS / 2 });
    timings.past!.push(performance.now() - t0);
    t0 = performance.now();
    [...items].sort((a, b) => a.ctime - b.ctime || (a.id < b.id ? -1 : 1));
    timings.baseline!.push(performance.now() - t0);
  }
  const baseline = { name: `copy+sort ${ITEMS} items`, value: percentile(timings.baseline!, 50) };
  return [
    {
      name: `state() p50, ${ITEMS} items, global`,
      value: percentile(timings.global!, 50),
      unit: 'ms',
      baseline,
      target: '≤ 5 ms',
    },
    {
      name: `state() p50, ${ITEMS} items, one device`,
      value: percentile(timings.device!, 50),
      unit: 'ms',
      baseline,
      target: '≤ 5 ms',
    },
    {
      name: `state() p50, ${ITEMS} items, at a past time`,
      value: percentile(timings.past!, 50),
      unit: 'ms',
      baseline,
    },
    { name: `state() p99, ${ITEMS} items, global`, value: percentile(timings.global!, 99), unit: 'ms' },
  ];
}

printFigures(`bench/core — memory engine${SMOKE ? ' (smoke)' : ''}`, [
  ...(await consumeRate()),
  ...(await stateLatency()),
]);
