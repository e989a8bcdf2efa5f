/**
 * PostgreSQL engine benchmarks, each on temporary databases of its own:
 *   npx tsx bench/storage-postgres.ts [--smoke]
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Engine } from '../src/core/state-machine.js';
import type { Message } from '../src/protocol/message.js';
import { parseMessage } from '../src/protocol/validate.js';
import { openPostgresEngine } from '../src/storage/postgres/index.js';
import { openShardedEngine } from '../src/storage/sharded/index.js';
import { createTempDatabase } from '../test/support/postgres.js';
import { type Figure, printFigures } from './report.js';

const PRODUCERS = 64;
const T0 = 1_700_000_000_000;

const message = (uid: string, i: number, items = 1): Message => {
  const create: Record<string, unknown> = {};
  for (let k = 0; k < items; k++) create[`i${i}-${k}`] = { category: `c${k % 7}`, body: { n: i, k } };
  return parseMessage({ id: `m${i}`, system: 'gregor', body: { create } }, { uid, now: T0 + i });
};

/** Runs `total` tasks with `producers` concurrent loops; returns tasks per second. */
async function rate(
  total: number,
  producers: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return Math.round(total / ((performance.now() - start) / 1000));
}

async function p50(runs: number, call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(3));
}

/** The reference point: single-row INSERT commits through plain `pg`, same concurrency. */
async function plainInsertRate(url: string, total: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 32 });
  await pool.query('CREATE TABLE bench_plain (uid text, n int, body text)');
  const r = await rate(total, PRODUCERS, (i) =>
    pool.query('INSERT INTO bench_plain VALUES ($1, $2, $3)', [`u${i % 1000}`, i, '{"n":1}']),
  );
  await pool.end();
  return r;
}

async function ingest(
  engine: Engine,
  total: number,
  uidOf: (i: number) => string,
  producers = PRODUCERS,
): Promise<number> {
  return rate(total, producers, (i) => engine.consumeMessage(message(uidOf(i), i)));
}

export async function benchPostgres(options: { smoke?: boolean } = {}): Promise<Figure[]> {
  const total = options.smoke ? 2000 : 40_000;
  const big = options.smoke ? 1000 : 10_000;
  const runs = options.smoke ? 20 : 200;
  const figures: Figure[] = [];
  const dbs = await Promise.all([0, 1, 2].map(() => createTempDatabase('gregor_bench_')));
  try {
    const [main, shardA, shardB] = dbs as [(typeof dbs)[0], (typeof dbs)[0], (typeof dbs)[0]];
    const plain = await plainInsertRate(main.url, total);
    const baseline = { name: `plain pg single-row INSERT commits, ${PRODUCERS} producers`, value: plain };
    const engine = await openPostgresEngine({ connectionString: main.url });
    const many = await ingest(engine, total, (i) => `user${i % 1000}`);
    figures.push({
      name: `durable ingest, ${PRODUCERS} producers, 1000 users`,
      value: many,
      unit: 'msg/s',
      baseline,
    });
    // A server with many devices has hundreds of messages in flight: group commit needs them.
    const wide = await ingest(engine, total, (i) => `wide${i % 1000}`, 512);
    figures.push({
      name: 'durable ingest, 512 producers, 1000 users',
      value: wide,
      unit: 'msg/s',
      baseline,
      target: '≥ 20,000 msg/s',
      met: wide >= 20_000,
    });
    const hot = await ingest(engine, total, (i) => (i < 0 ? '' : `hot-${total}`));
    figures.push({
      name: `durable ingest, ${PRODUCERS} producers, one hot user`,
      value: hot,
      unit: 'msg/s',
      baseline,
    });

    for (let i = 0; i < big / 1000; i++) await engine.consumeMessage(message('big', i, 1000));
    figures.push({
      name: `state() p50, ${big} items, warm`,
      value: await p50(runs, () => engine.state('big')),
      unit: 'ms',
    });
    const cold = await openPostgresEngine({ connectionString: main.url, cacheUsers: 0 });
    figures.push({
      name: `state() p50, ${big} items, cold (no cache)`,
      value: await p50(Math.ceil(runs / 10), () => cold.state('big')),
      unit: 'ms',
    });
    await cold.close();

    for (let i = 0; i < 1000; i++) await engine.consumeMessage(message('missed', i));
    figures.push({
      name: 'messagesAfter p50, 1,000 missed messages',
      value: await p50(runs, () => engine.messagesAfter('missed', 'phone', 0)),
      unit: 'ms',
    });
    figures.push({
      name: 'inBandMessagesSince p50, 1,000 missed messages',
      value: await p50(runs, () => engine.inBandMessagesSince('missed', 'phone', { time: T0 - 1 })),
      unit: 'ms',
    });
    await engine.close();

    const sharded = await openShardedEngine({ shards: [shardA.url, shardB.url] });
    const shardRate = await ingest(sharded, total, (i) => `user${i % 1000}`);
    figures.push({
      name: `sharded (2 shards) durable ingest, ${PRODUCERS} producers, 1000 users`,
      value: shardRate,
      unit: 'msg/s',
      baseline,
    });
    await sharded.close();
  } finally {
    await Promise.all(dbs.map((d) => d.drop()));
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const smoke = process.argv.includes('--smoke');
  printFigures(
    `bench/storage-postgres — PostgreSQL engine${smoke ? ' (smoke)' : ''}`,
    await benchPostgres({ smoke }),
  );
}
