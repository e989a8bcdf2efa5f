import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { openPostgresEngine, type PostgresEngine } from '../../src/storage/postgres/index.js';
import { freshUid, s, wire } from '../conformance/fixtures.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';

const reachable = await requirePostgres('postgres engine');

const create = (uid: string, id: string, ctime = s(1000)): Message =>
  wire(uid, ctime, { id, system: 'gregor', body: { create: { [id]: { category: 'c' } } } });

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );
}

describe.skipIf(!reachable)('postgres engine', () => {
  let db: TempDatabase;
  let engine: PostgresEngine;
  beforeAll(async () => {
    db = await createTempDatabase();
    engine = await openPostgresEngine({ connectionString: db.url, now: () => s(2000) });
  });
  afterAll(async () => {
    await engine?.close();
    await db?.drop();
  });

  describe('migrations', () => {
    it('several engines opening a fresh database at once all succeed, and migrate it once', async () => {
      const fresh = await createTempDatabase();
      try {
        const engines = await Promise.all(
          [1, 2, 3, 4].map(() => openPostgresEngine({ connectionString: fresh.url })),
        );
        await Promise.all(engines.map((e) => e.close()));
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        const { rows } = await client.query(
          'SELECT version, count(*)::int AS n FROM gregor_migrations GROUP BY 1',
        );
        await client.end();
        expect(rows.every((r) => r.n === 1)).toBe(true);
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await fresh.drop();
      }
    });

    it('refuses a database migrated by a newer Gregor with GREGOR_ERR_SCHEMA_TOO_NEW', async () => {
      const fresh = await createTempDatabase();
      try {
        await (await openPostgresEngine({ connectionString: fresh.url })).close();
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        await client.query('INSERT INTO gregor_migrations (version) VALUES (9999)');
        await client.end();
        expect(await codeOf(openPostgresEngine({ connectionString: fresh.url }))).toBe(
          'GREGOR_ERR_SCHEMA_TOO_NEW',
        );
      } finally {
        await fresh.drop();
      }
    });
  });

  it('an unreachable server fails with GREGOR_ERR_STORAGE_UNAVAILABLE', async () => {
    const url = 'postgres://postgres@127.0.0.1:1/test';
    expect(await codeOf(openPostgresEngine({ connectionString: url }))).toBe(
      'GREGOR_ERR_STORAGE_UNAVAILABLE',
    );
  });

  it('keeps acknowledged messages across a reopen, read by a fresh process-like engine', async () => {
    const uid = freshUid();
    for (let i = 0; i < 5; i++) await engine.consumeMessage(create(uid, `m${i}`));
    const other = await openPostgresEngine({ connectionString: db.url, now: () => s(2000) });
    try {
      expect(await other.state(uid)).toEqual(await engine.state(uid));
      expect((await other.messagesAfter(uid, null, 0)).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await other.close();
    }
  });

  describe('group commit', () => {
    it('many concurrent consumes share far fewer transactions', async () => {
      const before = engine.stats.consumeTransactions;
      const uids = Array.from({ length: 20 }, () => freshUid('g'));
      const results = await Promise.all(
        Array.from({ length: 400 }, (_, i) => engine.consumeMessage(create(uids[i % 20]!, `m${i}`))),
      );
      expect(results.every((r) => r.status === 'stored')).toBe(true);
      expect(engine.stats.consumeTransactions - before).toBeLessThan(40);
      for (const uid of uids) expect((await engine.state(uid)).seq).toBe(20);
    });

    it('a failed batch fails only the message the database refused: the others are retried alone and stored', async () => {
      // One lane, so the three calls queued behind the first form one batch.
      const single = await openPostgresEngine({ connectionString: db.url, writers: 1 });
      try {
        const uid = freshUid('f');
        const first = single.consumeMessage(create(uid, 'first'));
        const good = single.consumeMessage(create(uid, 'good'));
        const bad = single.consumeMessage(create('bad\0uid', 'bad'));
        const alsoGood = single.consumeMessage(create(freshUid('f'), 'also'));
        expect((await first).status).toBe('stored');
        expect(await good).toMatchObject({ status: 'stored', seq: 2 });
        expect(await codeOf(bad)).toBe('GREGOR_ERR_STORAGE_FAILED');
        expect(await alsoGood).toMatchObject({ status: 'stored', seq: 1 });
        expect((await single.consumeMessage(create(uid, 'later'))).seq).toBe(3);
        expect((await single.state(uid)).items.map((i) => i.id)).toEqual(['first', 'good', 'later']);
      } finally {
        await single.close();
      }
    });

    it('a message refused by the rules fails only its own caller', async () => {
      const uid = freshUid('r');
      await engine.consumeMessage(create(uid, 'old', s(1000)));
      await engine.compact(s(1500), uid);
      const refused = engine.consumeMessage(create(uid, 'again', s(1200)));
      const fine = engine.consumeMessage(create(uid, 'new', s(1600)));
      expect(await codeOf(refused)).toBe('GREGOR_ERR_MESSAGE_TOO_OLD');
      expect((await fine).status).toBe('stored');
    });
  });

  it('two engines writing one user (two nodes) give gap-free, commit-ordered seqs; cursors miss nothing', async () => {
    const uid = freshUid('hot');
    const other = await openPostgresEngine({ connectionString: db.url, now: () => s(2000) });
    try {
      const seen: number[] = [];
      const ids: string[] = [];
      let cursor = 0;
      let done = false;
      const reader = (async () => {
        while (!done || cursor < 200) {
          const after = await other.messagesAfter(uid, null, cursor);
          expect(after.truncated).toBe(false);
          for (const m of after.messages) {
            seen.push(m.seq);
            ids.push(m.message.md.msgId);
          }
          cursor = after.messages.at(-1)?.seq ?? cursor;
          if (done && cursor >= 200) break;
        }
      })();
      const writes = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 ? engine : other).consumeMessage(create(uid, `w${i}`, s(1000) + i)),
        ),
      );
      done = true;
      await reader;
      expect(writes.map((w) => w.seq).sort((a, b) => a! - b!)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(new Set(ids).size).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('two engines consuming the same messages at once store each once; the other gets its duplicate seq', async () => {
    const uid = freshUid('dup');
    const other = await openPostgresEngine({ connectionString: db.url, now: () => s(2000) });
    try {
      const messages = Array.from({ length: 60 }, (_, i) => create(uid, `d${i}`, s(1000) + i));
      const [a, b] = await Promise.all(
        [engine, other].map((e) => Promise.all(messages.map((m) => e.consumeMessage(m)))),
      );
      for (let i = 0; i < messages.length; i++) {
        expect(a![i]!.seq).toBe(b![i]!.seq);
        expect([a![i]!.status, b![i]!.status].sort()).toEqual(['duplicate', 'stored']);
      }
      expect((await engine.state(uid)).seq).toBe(60);
    } finally {
      await other.close();
    }
  });
});
