import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import type { Message, UpdateMessage } from '../../src/protocol/message.js';
import { GroupCommit } from '../../src/storage/common/group-commit.js';
import { openPostgresEngine } from '../../src/storage/postgres/index.js';
import { openSqliteEngine } from '../../src/storage/sqlite/index.js';
import { freshUid, s, wire } from '../conformance/fixtures.js';
import { createTempDatabase, requirePostgres } from '../support/postgres.js';
import { tempDir } from './sqlite-support.js';

const pgUp = await requirePostgres('group commit on PostgreSQL');

/** A batch writer that refuses any batch holding a poisoned entry, as a database refuses a transaction. */
function poisonedWriter(poison: (v: number) => boolean) {
  const calls: number[][] = [];
  const write = async (batch: readonly number[]) => {
    calls.push([...batch]);
    await new Promise((r) => setTimeout(r, 1));
    if (batch.some(poison)) throw new GregorError('STORAGE_FAILED', `refused ${batch.find(poison)}`);
    return batch.map((v) => v * 10);
  };
  return { calls, write };
}

async function settleAll<T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(ps);
}

describe('group commit: one entry can only ever fail itself', () => {
  it('a batch that fails is written again one entry at a time, in order, and only the refused entry fails', async () => {
    const { calls, write } = poisonedWriter((v) => v === 7);
    const gc = new GroupCommit(write, 512);
    const first = gc.submit(0); // written alone; the others queue behind it as one batch
    const rest = Array.from({ length: 20 }, (_, i) => gc.submit(i + 1));
    expect(await first).toBe(0);
    const results = await settleAll(rest);
    results.forEach((r, i) => {
      if (i + 1 === 7) expect(r).toMatchObject({ status: 'rejected', reason: { message: 'refused 7' } });
      else expect(r).toEqual({ status: 'fulfilled', value: (i + 1) * 10 });
    });
    const batch = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(calls).toEqual([[0], batch, ...batch.map((v) => [v])]);
  });

  it('a lone entry that fails is not retried, and an outage fails the whole batch without retries', async () => {
    const lone = poisonedWriter(() => true);
    const gc = new GroupCommit(lone.write);
    await expect(gc.submit(1)).rejects.toThrow('refused 1');
    expect(lone.calls).toEqual([[1]]);

    const calls: number[][] = [];
    const down = new GroupCommit(async (batch: readonly number[]) => {
      calls.push([...batch]);
      await new Promise((r) => setTimeout(r, 1));
      throw new GregorError('STORAGE_UNAVAILABLE', 'the database cannot be reached');
    });
    const all = await settleAll([1, 2, 3, 4].map((v) => down.submit(v)));
    expect(all.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toEqual([[1], [2, 3, 4]]);
  });

  it('each retry is bounded: an entry that fails alone too is rejected after one retry, and the queue moves on', async () => {
    const { calls, write } = poisonedWriter((v) => v % 2 === 0);
    const gc = new GroupCommit(write);
    const first = gc.submit(1);
    const batch = [2, 3, 4, 5].map((v) => gc.submit(v));
    await first;
    const later = gc.submit(9);
    const results = await settleAll(batch);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await later).toBe(90);
    expect(calls).toEqual([[1], [2, 3, 4, 5], [2], [3], [4], [5], [9]]);
  });
});

/** A valid message turned into one the database refuses (PostgreSQL text cannot hold NUL). */
function refusedByPostgres(m: Message): Message {
  const u = m as UpdateMessage;
  return { ...u, create: u.create.map((i) => ({ ...i, category: 'a\u0000b' })) };
}

const create = (uid: string, id: string, ctime: number): Message =>
  wire(uid, ctime, { id: `m-${id}`, system: 'gregor', body: { create: { [id]: { category: 'c' } } } });

describe.skipIf(!pgUp)('group commit on PostgreSQL', () => {
  it('200 concurrent messages of 200 users in one group commit, one refused by the database: the other 199 are stored, and caches agree with the rows', async () => {
    const db = await createTempDatabase('gregor_gc_');
    // One lane, so everything queued behind a blocked batch becomes the next batch.
    const engine = await openPostgresEngine({ connectionString: db.url, now: () => s(9000), writers: 1 });
    const locker = new pg.Client({ connectionString: db.url });
    try {
      const uids = Array.from({ length: 200 }, () => freshUid('gc'));
      // Every user has a cached replica before the failing batch.
      for (const uid of uids) await engine.consumeMessage(create(uid, `${uid}-a`, s(1000)));
      for (const uid of uids) expect((await engine.state(uid)).seq).toBe(1);
      const blocker = freshUid('blocker');
      await engine.consumeMessage(create(blocker, 'b0', s(1000)));
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM gregor_users WHERE uid = $1 FOR UPDATE', [blocker]);
      const blocked = engine.consumeMessage(create(blocker, 'b1', s(2000)));
      await new Promise((r) => setTimeout(r, 100));
      const before = engine.stats.consumeTransactions;
      const bad = 137;
      const results = Promise.allSettled(
        uids.map((uid, i) => {
          const m = create(uid, `${uid}-b`, s(2000));
          return engine.consumeMessage(i === bad ? refusedByPostgres(m) : m);
        }),
      );
      await locker.query('COMMIT');
      expect((await blocked).status).toBe('stored');
      const settled = await results;
      // One transaction for the batch of 200, then one per message of it.
      expect(engine.stats.consumeTransactions - before).toBe(1 + 200);
      settled.forEach((r, i) => {
        if (i === bad) {
          expect(r.status).toBe('rejected');
          expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'GREGOR_ERR_STORAGE_FAILED' });
        } else expect(r).toMatchObject({ status: 'fulfilled', value: { status: 'stored', seq: 2 } });
      });
      // The cached replicas (this engine) and the rows (a fresh engine, no cache) agree for every user.
      const fresh = await openPostgresEngine({ connectionString: db.url, now: () => s(9000) });
      try {
        for (const [i, uid] of uids.entries()) {
          const state = await engine.state(uid);
          expect(state.seq).toBe(i === bad ? 1 : 2);
          expect(state.items.map((it) => it.id)).toEqual(i === bad ? [`${uid}-a`] : [`${uid}-a`, `${uid}-b`]);
          expect(await fresh.state(uid)).toEqual(state);
        }
        // The refused user's next message takes the next seq: the failure left no gap and no trace.
        const next = await engine.consumeMessage(create(uids[bad]!, `${uids[bad]}-c`, s(3000)));
        expect(next).toMatchObject({ status: 'stored', seq: 2 });
        expect(await fresh.state(uids[bad]!)).toEqual(await engine.state(uids[bad]!));
      } finally {
        await fresh.close();
      }
    } finally {
      await locker.end().catch(() => {});
      await engine.close();
      await db.drop();
    }
  });
});

describe('group commit on SQLite', () => {
  it('a batch with a message the database refuses stores the others: each is retried alone, and the replicas agree with the file', async () => {
    const { dir, remove } = await tempDir();
    const path = join(dir, 'gregor.db');
    try {
      const engine = await openSqliteEngine({ path, now: () => s(9000) });
      const uids = Array.from({ length: 50 }, () => freshUid('sq'));
      for (const uid of uids) await engine.consumeMessage(create(uid, `${uid}-a`, s(1000)));
      // A trigger plays the database refusing one row of a valid message.
      const other = new Database(path);
      other.exec(`CREATE TRIGGER refuse BEFORE INSERT ON gregor_items WHEN NEW.item_id = '${uids[20]}-b'
                  BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END`);
      other.close();
      const before = engine.stats.consumeTransactions;
      const settled = await Promise.allSettled(
        uids.map((uid) => engine.consumeMessage(create(uid, `${uid}-b`, s(2000)))),
      );
      expect(engine.stats.consumeTransactions - before).toBe(1 + 50);
      settled.forEach((r, i) => {
        if (i === 20)
          expect(r).toMatchObject({ status: 'rejected', reason: { code: 'GREGOR_ERR_STORAGE_CONSTRAINT' } });
        else expect(r).toMatchObject({ status: 'fulfilled', value: { status: 'stored', seq: 2 } });
      });
      const states = await Promise.all(uids.map((uid) => engine.state(uid)));
      await engine.close();
      const reopened = await openSqliteEngine({ path, now: () => s(9000) });
      for (const [i, uid] of uids.entries()) {
        expect(states[i]!.seq).toBe(i === 20 ? 1 : 2);
        expect(await reopened.state(uid)).toEqual(states[i]);
      }
      await reopened.close();
    } finally {
      await remove();
    }
  });
});
