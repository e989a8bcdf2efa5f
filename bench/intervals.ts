/**
 * The interval-tombstone attack (hardening issue, defect 3): one user sends 50 messages of 100
 * interval dismissals in one category, then creates 1,000 items of that category. Measured on the
 * memory and SQLite engines (and PostgreSQL when it answers), in the same run next to a user with
 * the same 1,000 items and no tombstones (the baseline of the targets), and to a user with the same
 * history made of dismissals by ID (50 messages of 100 IDs: the same log, no interval tombstones):
 *
 * - the attack's create (median of 5 users) and the longest event-loop block while they ran;
 * - state reads "now" (global and one device), at a past time, and a sync from cursor 0
 *   (messagesAfter): p50 and p99, and the longest event-loop block over all of them;
 * - a create of 1,000 items with as many reminders as one message may carry;
 * - the many-scopes attack at the limit: one interval over every time on each of
 *   LIMITS.maxIntervalScopesPerUser (64) devices (the next device is refused), then the create and
 *   a sync from cursor 0. Every item it hides lists the 64 scopes that hide it.
 *
 * Target: every read within 2× of the no-tombstone figure, and no event-loop block over 50 ms.
 * The create is stamped before the dismissals (as if delayed on its way) but consumed after them,
 * so a read at a past time sees the items and half of the tombstones.
 *
 *   npx tsx bench/intervals.ts [--smoke] [--calls N] [--engines memory,sqlite,postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Engine } from '../src/core/state-machine.js';
import { isGregorError } from '../src/protocol/errors.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { Message } from '../src/protocol/message.js';
import { parseMessage } from '../src/protocol/validate.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { openPostgresEngine } from '../src/storage/postgres/index.js';
import { openSqliteEngine } from '../src/storage/sqlite/index.js';
import { createTempDatabase, pgReachable } from '../test/support/postgres.js';
import { type Figure, percentile, printFigures, SMOKE } from './report.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const DISMISS_MESSAGES = SMOKE ? 5 : 50;
const INTERVALS_PER_MESSAGE = 100;
const ITEMS = SMOKE ? 100 : 1000;
/** Users attacked one after another: the create's figure is their median. */
const ATTACKS = SMOKE ? 2 : 5;
const CALLS = Number(arg('--calls') ?? (SMOKE ? 5 : 50));
const ENGINES = (arg('--engines') ?? 'memory,sqlite,postgres').split(',');
const BLOCK_TARGET_MS = 50;
const CATEGORY = 'follow';
/** The clock of every engine: after every message. */
const NOW = 1_800_000_000_000;
/** ctime of the create; the dismissals follow it, one second apart. */
const T0 = NOW - 10 * 86_400_000;
/** Items and intervals live on this stretch of `created` times: 10 s per interval. */
const SPAN_BEGIN = T0 - 30 * 86_400_000;
const SPAN = DISMISS_MESSAGES * INTERVALS_PER_MESSAGE * 10_000;
/** The time-travel read: after the create and half of the dismissal messages. */
const AT = T0 + (DISMISS_MESSAGES / 2) * 1000;

const ctx = (uid: string, now: number) => ({ uid, now });

/** Dismissal message k: 100 disjoint intervals, each 5 s long, 10 s apart (nothing coalesces). */
function dismissal(uid: string, k: number): Message {
  const intervals = Array.from({ length: INTERVALS_PER_MESSAGE }, (_, j) => {
    const begin = SPAN_BEGIN + (k * INTERVALS_PER_MESSAGE + j) * 10_000;
    return { category: CATEGORY, begin: begin / 1000, end: (begin + 5_000) / 1000 };
  });
  return parseMessage(
    { id: `d${k}`, system: 'gregor', body: { dismiss: { intervals } } },
    ctx(uid, T0 + (k + 1) * 1000),
  );
}

/** Many-scopes message k: one interval over every `created` time, for device k alone. */
function scopeDismissal(uid: string, k: number): Message {
  return parseMessage(
    {
      id: `s${k}`,
      system: 'gregor',
      body: { dismiss: { intervals: [{ category: CATEGORY, end: NOW / 1000 }], for_device: `dev${k}` } },
    },
    ctx(uid, T0 + (k + 1) * 1000),
  );
}

/** The like-for-like history without interval tombstones: 100 dismissals by ID (of items never created). */
function dismissalById(uid: string, k: number): Message {
  const ids = Array.from({ length: INTERVALS_PER_MESSAGE }, (_, j) => `gone${k}-${j}`);
  return parseMessage(
    { id: `d${k}`, system: 'gregor', body: { dismiss: { ids } } },
    ctx(uid, T0 + (k + 1) * 1000),
  );
}

/** The create: ITEMS items spread over the dismissed stretch; about half fall inside an interval. */
function create(uid: string, remindersPerItem = 0): unknown {
  const items: Record<string, unknown> = {};
  for (let n = 0; n < ITEMS; n++) {
    const created = SPAN_BEGIN + Math.floor((n * SPAN) / ITEMS) + (n % 2 === 0 ? 2_000 : 7_000);
    const remind = Array.from({ length: remindersPerItem }, (_, r) => (NOW + (r + 1) * 60_000) / 1000);
    items[`i${n}`] = {
      category: CATEGORY,
      times: { created: created / 1000, remind_at: remind },
      body: { who: `user${n}`, n },
    };
  }
  return { id: `c${uid}`, system: 'gregor', body: { create: items } };
}

/**
 * Measures the longest event-loop block (ms) while `fn` runs: a 1 ms interval timer notes the
 * longest gap between its ticks (a drift probe; a gap is a stretch no other user's work could run).
 */
async function blocking<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; blockMs: number }> {
  let last = performance.now();
  let longest = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await yieldToLoop();
  longest = 0;
  last = performance.now();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  await yieldToLoop();
  clearInterval(probe);
  return { value, ms, blockMs: Math.max(longest, performance.now() - last) };
}

/** Lets timers run (so the delay monitor sees each call on its own). */
function yieldToLoop(): Promise<void> {
  return new Promise((r) => setTimeout(r, 2));
}

async function samples(calls: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    await yieldToLoop();
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

interface Opened {
  readonly engine: Engine;
  close(): Promise<void>;
}

async function openEngine(kind: string, dir: string): Promise<Opened | null> {
  if (kind === 'memory') {
    const engine = new MemoryEngine({ now: () => NOW });
    return { engine, close: () => engine.close() };
  }
  if (kind === 'sqlite') {
    const engine = await openSqliteEngine({ path: join(dir, 'intervals.db'), now: () => NOW });
    return { engine, close: () => engine.close() };
  }
  if (kind === 'postgres') {
    if (!(await pgReachable())) {
      console.log('PostgreSQL does not answer: its figures are left out');
      return null;
    }
    const db = await createTempDatabase('gregor_bench_iv_');
    const engine = await openPostgresEngine({ connectionString: db.url, now: () => NOW });
    return {
      engine,
      close: async () => {
        await engine.close();
        await db.drop();
      },
    };
  }
  throw new Error(`unknown engine ${kind}`);
}

interface ReadFigures {
  readonly p50: Record<string, number>;
  readonly p99: Record<string, number>;
  readonly blockMs: number;
}

const READS = ['state now', 'state now, one device', 'state at a past time', 'sync from cursor 0'] as const;

async function reads(engine: Engine, uid: string): Promise<ReadFigures> {
  const calls: Record<(typeof READS)[number], () => Promise<unknown>> = {
    'state now': () => engine.state(uid),
    'state now, one device': () => engine.state(uid, 'phone'),
    'state at a past time': () => engine.state(uid, null, { time: AT }),
    'sync from cursor 0': () => engine.messagesAfter(uid, 'phone', 0),
  };
  const p50: Record<string, number> = {};
  const p99: Record<string, number> = {};
  const { blockMs } = await blocking(async () => {
    for (const name of READS) {
      const s = await samples(CALLS, calls[name]);
      p50[name] = percentile(s, 50);
      p99[name] = percentile(s, 99);
    }
  });
  return { p50, p99, blockMs };
}

/** Writes a user's history: the 50 dismissal messages, each in its own turn of the event loop. */
async function history(engine: Engine, uid: string, byId: boolean): Promise<{ ms: number; blockMs: number }> {
  return blocking(async () => {
    for (let k = 0; k < DISMISS_MESSAGES; k++) {
      await engine.consumeMessage(byId ? dismissalById(uid, k) : dismissal(uid, k));
      await yieldToLoop();
    }
  });
}

async function benchEngine(kind: string, dir: string): Promise<Figure[]> {
  const opened = await openEngine(kind, dir);
  if (!opened) return [];
  const { engine } = opened;
  try {
    await warmUp(engine);
    // ATTACKS users each get the tombstones, then the create (the median create is reported);
    // `plain*` users get the same create only; `byid*` the same history with dismissals by ID.
    const writes: { ms: number; blockMs: number }[] = [];
    const attacks: { ms: number; blockMs: number }[] = [];
    const plains: { ms: number; blockMs: number }[] = [];
    const byIds: { ms: number; blockMs: number }[] = [];
    const createFor = async (uid: string) => {
      const m = parseMessage(create(uid), ctx(uid, T0));
      return blocking(() => engine.consumeMessage(m));
    };
    for (let r = 0; r < ATTACKS; r++) {
      writes.push(await history(engine, `attacked${r}`, false));
      attacks.push(await createFor(`attacked${r}`));
      await history(engine, `byid${r}`, true);
      byIds.push(await createFor(`byid${r}`));
      plains.push(await createFor(`plain${r}`));
    }
    const visible = (await engine.state('attacked0')).items.length;
    const visibleAt = (await engine.state('attacked0', null, { time: AT })).items.length;
    console.log(
      `${kind}: ${DISMISS_MESSAGES * INTERVALS_PER_MESSAGE} tombstones written in ${median(writes.map((w) => w.ms)).toFixed(0)} ms` +
        ` (median of ${ATTACKS} users; longest block ${Math.max(...writes.map((w) => w.blockMs)).toFixed(1)} ms);` +
        ` ${visible} of ${ITEMS} items visible now, ${visibleAt} at the past time`,
    );
    const plain = await reads(engine, 'plain0');
    const byId = await reads(engine, 'byid0');
    const attacked = await reads(engine, 'attacked0');
    const longestAttack = Math.max(...attacks.map((a) => a.blockMs));
    const figures: Figure[] = [
      {
        name: `${kind}: the attack's create, ${ITEMS} items (median of ${ATTACKS} users)`,
        value: median(attacks.map((a) => a.ms)),
        unit: 'ms',
        baseline: { name: 'same create, no tombstones', value: median(plains.map((a) => a.ms)) },
        also: [{ name: 'same history, dismissals by ID', value: median(byIds.map((a) => a.ms)) }],
      },
      {
        name: `${kind}: the attack's create, longest event-loop block (of ${ATTACKS})`,
        value: longestAttack,
        unit: 'ms',
        baseline: { name: 'same create, no tombstones', value: Math.max(...plains.map((a) => a.blockMs)) },
        also: [{ name: 'same history, dismissals by ID', value: Math.max(...byIds.map((a) => a.blockMs)) }],
        target: `≤ ${BLOCK_TARGET_MS} ms`,
        met: longestAttack <= BLOCK_TARGET_MS,
      },
    ];
    for (const name of READS) {
      for (const p of ['p50', 'p99'] as const) {
        const value = attacked[p][name]!;
        const base = plain[p][name]!;
        figures.push({
          name: `${kind}: ${name} ${p}, ${ITEMS} items`,
          value,
          unit: 'ms',
          baseline: { name: 'no tombstones', value: base },
          also: [{ name: 'same history, dismissals by ID', value: byId[p][name]! }],
          ...(p === 'p50' ? { target: '≤ 2× no tombstones', met: value <= 2 * base } : {}),
        });
      }
    }
    figures.push({
      name: `${kind}: reads, longest event-loop block`,
      value: attacked.blockMs,
      unit: 'ms',
      baseline: { name: 'no tombstones', value: plain.blockMs },
      target: `≤ ${BLOCK_TARGET_MS} ms`,
      met: attacked.blockMs <= BLOCK_TARGET_MS,
    });
    figures.push(...(await manyScopes(kind, engine, createFor, plains, plain)));
    if (kind === 'sqlite') figures.push(...(await coldReads(dir, plain)));
    figures.push(...(await reminderBomb(kind, engine)));
    return figures;
  } finally {
    await opened.close();
  }
}

/**
 * The many-scopes attack at the limit: ATTACKS users each dismiss every time on 64 devices (one
 * message each) and have a 65th device refused, then get the create; a sync from cursor 0 follows.
 */
async function manyScopes(
  kind: string,
  engine: Engine,
  createFor: (uid: string) => Promise<{ ms: number; blockMs: number }>,
  plains: readonly { ms: number; blockMs: number }[],
  plain: ReadFigures,
): Promise<Figure[]> {
  const scopes = LIMITS.maxIntervalScopesPerUser;
  const creates: { ms: number; blockMs: number }[] = [];
  for (let r = 0; r < ATTACKS; r++) {
    const uid = `scoped${r}`;
    for (let k = 0; k < scopes; k++) await engine.consumeMessage(scopeDismissal(uid, k));
    const refused = await engine.consumeMessage(scopeDismissal(uid, scopes)).then(
      () => null,
      (e: unknown) => e,
    );
    if (!isGregorError(refused, 'TOO_MANY_TOMBSTONES')) {
      throw new Error(`${kind}: device scope ${scopes + 1} was not refused with TOO_MANY_TOMBSTONES`);
    }
    creates.push(await createFor(uid));
  }
  const hidden = (await engine.state('scoped0', 'dev0')).items.length;
  console.log(
    `${kind}: ${scopes} device scopes kept, scope ${scopes + 1} refused (TOO_MANY_TOMBSTONES);` +
      ` ${hidden} of ${ITEMS} items visible on dev0`,
  );
  const sync = await blocking(() => samples(CALLS, () => engine.messagesAfter('scoped0', 'phone', 0)));
  const longest = Math.max(...creates.map((c) => c.blockMs), sync.blockMs);
  return [
    {
      name: `${kind}: many-scopes attack (${scopes} devices), create of ${ITEMS} items (median of ${ATTACKS} users)`,
      value: median(creates.map((c) => c.ms)),
      unit: 'ms',
      baseline: { name: 'same create, no tombstones', value: median(plains.map((a) => a.ms)) },
    },
    {
      name: `${kind}: many-scopes attack, sync from cursor 0 p50`,
      value: percentile(sync.value, 50),
      unit: 'ms',
      baseline: { name: 'no tombstones', value: plain.p50['sync from cursor 0']! },
    },
    {
      name: `${kind}: many-scopes attack, longest event-loop block (creates and syncs)`,
      value: longest,
      unit: 'ms',
      baseline: { name: 'same create, no tombstones', value: Math.max(...plains.map((a) => a.blockMs)) },
      target: `≤ ${BLOCK_TARGET_MS} ms`,
      met: longest <= BLOCK_TARGET_MS,
    },
  ];
}

function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/**
 * Runs the code paths once on users of their own, so the figures are not the JIT's first runs:
 * a few hundred tombstones (or dismissals by ID), a create, reads now, at a time and from a cursor.
 */
async function warmUp(engine: Engine): Promise<void> {
  for (const byId of [false, true]) {
    const uid = byId ? 'warm-byid' : 'warm';
    for (let k = 0; k < 3; k++) await engine.consumeMessage(byId ? dismissalById(uid, k) : dismissal(uid, k));
    await engine.consumeMessage(parseMessage(create(uid), ctx(uid, T0)));
    for (let i = 0; i < 5; i++) {
      await engine.state(uid);
      await engine.state(uid, 'phone', { time: AT });
      await engine.messagesAfter(uid, 'phone', 0);
    }
  }
}

/** SQLite with no replica cache: every read loads the user's rows (as after another process wrote). */
async function coldReads(dir: string, plain: ReadFigures): Promise<Figure[]> {
  const cold = await openSqliteEngine({ path: join(dir, 'intervals.db'), now: () => NOW, cacheUsers: 0 });
  try {
    const calls = Math.min(CALLS, 10);
    const plainCold = await samples(calls, () => cold.state('plain0'));
    const byIdCold = await samples(calls, () => cold.state('byid0'));
    const run = await blocking(() => samples(calls, () => cold.state('attacked0')));
    const value = percentile(run.value, 50);
    const base = percentile(plainCold, 50);
    return [
      {
        name: `sqlite: state now p50, cold (replica loaded from rows)`,
        value,
        unit: 'ms',
        baseline: { name: 'no tombstones, cold', value: base },
        also: [{ name: 'same history, dismissals by ID, cold', value: percentile(byIdCold, 50) }],
        target: '≤ 2× no tombstones',
        met: value <= 2 * base,
      },
      {
        name: 'sqlite: cold reads, longest event-loop block',
        value: run.blockMs,
        unit: 'ms',
        baseline: { name: 'no tombstones, warm', value: plain.blockMs },
        target: `≤ ${BLOCK_TARGET_MS} ms`,
        met: run.blockMs <= BLOCK_TARGET_MS,
      },
    ];
  } finally {
    await cold.close();
  }
}

/** 1,000 items × 32 reminders; when validation refuses that, the most reminders a message may carry. */
async function reminderBomb(kind: string, engine: Engine): Promise<Figure[]> {
  const figures: Figure[] = [];
  const perItem = LIMITS.maxRemindersPerItem;
  const wire = create('reminded', perItem);
  let parsed: Message | null = null;
  const t0 = performance.now();
  try {
    parsed = parseMessage(wire, ctx('reminded', NOW));
  } catch (e) {
    if (!isGregorError(e, 'TOO_LARGE')) throw e;
    figures.push({
      name: `${kind}: ${ITEMS} items × ${perItem} reminders refused at validation (TOO_LARGE)`,
      value: performance.now() - t0,
      unit: 'ms',
    });
  }
  const cap = (LIMITS as { maxRemindersPerMessage?: number }).maxRemindersPerMessage;
  if (!parsed && cap !== undefined) {
    parsed = parseMessage(create('reminded', Math.floor(cap / ITEMS)), ctx('reminded', NOW));
  }
  if (parsed?.kind !== 'update') return figures;
  if (figures.length === 0) {
    figures.push({
      name: `${kind}: parse + validate ${ITEMS} items × ${perItem} reminders`,
      value: performance.now() - t0,
      unit: 'ms',
    });
  }
  const reminders = parsed.create.reduce((n, i) => n + i.remindAt.length, 0);
  const m = parsed;
  const run = await blocking(() => engine.consumeMessage(m));
  figures.push({
    name: `${kind}: create of ${ITEMS} items with ${reminders} reminders, longest event-loop block`,
    value: run.blockMs,
    unit: 'ms',
    target: `≤ ${BLOCK_TARGET_MS} ms`,
    met: run.blockMs <= BLOCK_TARGET_MS,
  });
  return figures;
}

const dir = mkdtempSync(join(tmpdir(), 'gregor-bench-intervals-'));
try {
  const figures: Figure[] = [];
  for (const kind of ENGINES) figures.push(...(await benchEngine(kind, dir)));
  printFigures(
    `bench/intervals — ${DISMISS_MESSAGES * INTERVALS_PER_MESSAGE} interval tombstones, ${ITEMS} items, ${CALLS} calls per read${SMOKE ? ' (smoke)' : ''}`,
    figures,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
