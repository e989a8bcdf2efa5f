/**
 * The SQLite engine's speed: durable ingest through group commit with many concurrent producers,
 * next to a plain better-sqlite3 loop (one single-row transaction per message, same synchronous
 * level) measured in the same run; state() for one user with 10k items, warm and cold; catching up
 * on 1,000 missed messages.
 *
 *   npx tsx bench/storage-sqlite.ts [--smoke]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { Message } from '../src/protocol/message.js';
import { parseMessage } from '../src/protocol/validate.js';
import { openSqliteEngine } from '../src/storage/sqlite/index.js';
import { benchCreate } from './lib/messages.js';
import { type Figure, percentile, printFigures } from './report.js';

const NOW = 1_700_000_000_000;

function create(uid: string, i: number): Message {
  return parseMessage(benchCreate(i), { uid, now: NOW + i });
}

async function ingest(dir: string, count: number, producers: number): Promise<number> {
  const messages = Array.from({ length: count }, (_, i) => create(`u${i % 1000}`, i));
  const engine = await openSqliteEngine({ path: join(dir, 'ingest.db'), now: () => NOW });
  let next = 0;
  const produce = async () => {
    while (next < messages.length) await engine.consumeMessage(messages[next++]!);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: producers }, produce));
  const seconds = (performance.now() - t0) / 1000;
  await engine.close();
  return count / seconds;
}

/** The floor a naive durable store pays: one fsync'd transaction per message. */
function plainLoop(dir: string, count: number): number {
  const db = new Database(join(dir, 'plain.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE messages (uid TEXT, seq INTEGER, msg_id TEXT, content TEXT, PRIMARY KEY (uid, seq))');
  const insert = db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?)');
  const one = db.transaction((i: number) => insert.run(`u${i % 1000}`, i, `m${i}`, `{"n":${i}}`));
  const t0 = performance.now();
  for (let i = 0; i < count; i++) one(i);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return count / seconds;
}

async function timeCalls(calls: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return percentile(samples, 50);
}

async function reads(dir: string, items: number, calls: number): Promise<Figure[]> {
  const path = join(dir, 'reads.db');
  const writer = await openSqliteEngine({ path, now: () => NOW + items });
  await Promise.all(Array.from({ length: items }, (_, i) => writer.consumeMessage(create('big', i))));
  await writer.close();
  const warm = await openSqliteEngine({ path, now: () => NOW + items });
  await warm.state('big');
  const warmP50 = await timeCalls(calls, () => warm.state('big', 'phone'));
  const cold = await openSqliteEngine({ path, now: () => NOW + items, cacheUsers: 0 });
  const coldP50 = await timeCalls(Math.min(calls, 50), () => cold.state('big', 'phone'));
  const missed = Math.min(1000, items);
  const since = { time: NOW + items - missed - 1 };
  const sinceP50 = await timeCalls(calls, () => warm.inBandMessagesSince('big', 'phone', since));
  const afterP50 = await timeCalls(calls, () => warm.messagesAfter('big', 'phone', items - missed));
  await warm.close();
  await cold.close();
  return [
    {
      name: `state() p50, ${items} items, warm cache`,
      value: warmP50,
      unit: 'ms',
      target: '≤ 5 ms',
      met: warmP50 <= 5,
    },
    { name: `state() p50, ${items} items, cold (loaded from rows)`, value: coldP50, unit: 'ms' },
    { name: `inBandMessagesSince p50, ${missed} missed`, value: sinceP50, unit: 'ms' },
    { name: `messagesAfter p50, ${missed} missed`, value: afterP50, unit: 'ms' },
  ];
}

/**
 * Runs the SQLite figures in a temp directory removed afterwards.
 *
 * @example
 *   const figures = await benchSqlite({ smoke: true });
 */
export async function benchSqlite(options: { smoke?: boolean } = {}): Promise<Figure[]> {
  const smoke = options.smoke ?? false;
  const dir = mkdtempSync(join(tmpdir(), 'gregor-bench-sqlite-'));
  try {
    const rate = await ingest(dir, smoke ? 5_000 : 200_000, 1_000);
    const plain = plainLoop(dir, smoke ? 300 : 3_000);
    return [
      {
        name: 'durable ingest, 1,000 producers, synchronous FULL',
        value: rate,
        unit: 'msg/s',
        baseline: { name: 'better-sqlite3, 1 tx per message', value: plain },
        target: '≥ 50,000 msg/s',
        met: rate >= 50_000,
      },
      ...(await reads(dir, smoke ? 2_000 : 10_000, smoke ? 20 : 200)),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const smoke = process.argv.includes('--smoke');
  printFigures(
    `bench/storage-sqlite — SQLite engine${smoke ? ' (smoke)' : ''}`,
    await benchSqlite({ smoke }),
  );
}
