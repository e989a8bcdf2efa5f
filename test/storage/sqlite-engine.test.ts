import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import type { Message } from '../../src/protocol/message.js';
import { openConnection } from '../../src/storage/sqlite/connection.js';
import { toStorageError } from '../../src/storage/sqlite/errors.js';
import { openSqliteEngine, SqliteEngine } from '../../src/storage/sqlite/index.js';
import { s, wire } from '../conformance/fixtures.js';
import { tempDir } from './sqlite-support.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await remove();
});

const create = (uid: string, id: string, t: number, body: unknown = { id }): Message =>
  wire(uid, t, { id: `m-${id}`, system: 'gregor', body: { create: { [id]: { category: 'c', body } } } });

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(GregorError);
  return (e as GregorError).code;
}

describe('sqlite engine durability', () => {
  it('keeps every acknowledged message, item and sequence number across a reopen', async () => {
    const path = join(dir, 'gregor.db');
    const now = () => s(5000);
    let engine = await openSqliteEngine({ path, now });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => engine.consumeMessage(create('u', `i${i}`, s(1000 + i)))),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const before = await engine.state('u');
    const log = await engine.messagesAfter('u', null, 0);
    await engine.close();
    engine = await openSqliteEngine({ path, now });
    expect(await engine.state('u')).toEqual(before);
    expect(await engine.messagesAfter('u', null, 0)).toEqual(log);
    expect(await engine.consumeMessage(create('u', 'i7', s(1007)))).toMatchObject({
      status: 'duplicate',
      seq: results[7]!.seq,
    });
    expect((await engine.consumeMessage(create('u', 'new', s(2000)))).seq).toBe(51);
    await engine.close();
  });

  it('a replica cached by one engine is reloaded when another engine on the file writes', async () => {
    const path = join(dir, 'gregor.db');
    const a = await openSqliteEngine({ path, now: () => s(5000) });
    const b = await openSqliteEngine({ path, now: () => s(5000) });
    await a.consumeMessage(create('u', 'x', s(1000)));
    expect((await b.state('u')).items.map((i) => i.id)).toEqual(['x']);
    await a.consumeMessage(wire('u', s(1001), { system: 'gregor', body: { dismiss: { ids: ['x'] } } }));
    expect((await b.state('u')).items).toEqual([]);
    await a.compact(s(1500));
    await expect(b.state('u', null, { time: s(1200) })).rejects.toMatchObject({
      code: 'GREGOR_ERR_HISTORY_COMPACTED',
    });
    await a.close();
    await b.close();
  });
});

describe('sqlite engine group commit', () => {
  it('200 concurrent consumes share far fewer than 200 transactions', async () => {
    const engine = await openSqliteEngine({ path: join(dir, 'gregor.db') });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => engine.consumeMessage(create(`u${i % 7}`, `i${i}`, s(1000 + i)))),
    );
    expect(results.every((r) => r.status === 'stored')).toBe(true);
    expect(engine.stats.consumeTransactions).toBeLessThanOrEqual(2);
    await engine.close();
  });

  it('batches are at most maxBatch messages', async () => {
    const engine = await openSqliteEngine({ path: join(dir, 'gregor.db'), maxBatch: 16 });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => engine.consumeMessage(create('u', `i${i}`, s(1000)))),
    );
    expect(engine.stats.consumeTransactions).toBe(7);
    await engine.close();
  });

  it('a refused message fails alone; the rest of its batch is stored', async () => {
    const engine = await openSqliteEngine({ path: join(dir, 'gregor.db'), now: () => s(9000) });
    await engine.consumeMessage(create('u', 'old', s(1000)));
    await engine.compact(s(2000));
    const before = engine.stats.consumeTransactions;
    const [tooOld, fine, dup] = await Promise.allSettled([
      engine.consumeMessage(
        wire('u', s(3000), {
          system: 'gregor',
          body: { create: { late: { category: 'c', times: { created: 1 } } } },
        }),
      ),
      engine.consumeMessage(create('u', 'ok', s(3000))),
      engine.consumeMessage(create('u', 'ok', s(3000))),
    ]);
    expect(engine.stats.consumeTransactions).toBe(before + 1);
    expect(tooOld.status === 'rejected' && (tooOld.reason as GregorError).code).toBe(
      'GREGOR_ERR_MESSAGE_TOO_OLD',
    );
    expect(fine.status === 'fulfilled' && fine.value).toMatchObject({ status: 'stored', seq: 2 });
    expect(dup.status === 'fulfilled' && dup.value).toMatchObject({ status: 'duplicate', seq: 2 });
    await engine.close();
  });
});

describe('sqlite engine storage errors', () => {
  it('a full disk fails exactly the callers of its batch with STORAGE_FULL and changes nothing', async () => {
    const path = join(dir, 'gregor.db');
    const db = openConnection({ path });
    const engine = new SqliteEngine(db, { now: () => s(9000) });
    await engine.consumeMessage(create('u', 'first', s(1000)));
    const state = await engine.state('u');
    const log = await engine.messagesAfter('u', null, 0);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const big = 'x'.repeat(20_000);
    const failing = Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        engine.consumeMessage(create(i % 2 ? 'u' : 'v', `big${i}`, s(2000), { big })),
      ),
    );
    // The failing batch is written in this turn's setImmediate; the next batch is written after it.
    await new Promise((resolve) => setImmediate(resolve));
    db.pragma('max_page_count = 1073741823');
    const later = await engine.consumeMessage(create('w', 'small', s(2000)));
    expect(later).toMatchObject({ status: 'stored', seq: 1 });
    for (const r of await failing) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'GREGOR_ERR_STORAGE_FULL' });
      expect(((r as PromiseRejectedResult).reason as GregorError).cause).toMatchObject({
        code: 'SQLITE_FULL',
      });
    }
    expect(await engine.state('u')).toEqual(state);
    expect(await engine.messagesAfter('u', null, 0)).toEqual(log);
    expect(await engine.state('v')).toMatchObject({ seq: 0, items: [] });
    // Nothing half-written: the same messages are new, not duplicates, and take the next seqs.
    const retried = await engine.consumeMessage(create('u', 'big1', s(2000), { big }));
    expect(retried).toMatchObject({ status: 'stored', seq: 2 });
    await engine.close();
    const reopened = await openSqliteEngine({ path, now: () => s(9000) });
    expect((await reopened.state('u')).items.map((i) => i.id)).toEqual(['first', 'big1']);
    await reopened.close();
  });

  it('a file locked by another process past the busy timeout fails with STORAGE_UNAVAILABLE', async () => {
    const path = join(dir, 'gregor.db');
    const engine = new SqliteEngine(openConnection({ path, busyTimeoutMs: 50 }), { now: () => s(9000) });
    await engine.consumeMessage(create('u', 'a', s(1000)));
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    expect(await codeOf(engine.consumeMessage(create('u', 'b', s(1000))))).toBe(
      'GREGOR_ERR_STORAGE_UNAVAILABLE',
    );
    expect(await codeOf(engine.claimDueReminders('w', s(9000), 10, 1000))).toBe(
      'GREGOR_ERR_STORAGE_UNAVAILABLE',
    );
    other.exec('ROLLBACK');
    other.close();
    expect((await engine.state('u')).items.map((i) => i.id)).toEqual(['a']);
    expect(await engine.consumeMessage(create('u', 'b', s(1000)))).toMatchObject({
      status: 'stored',
      seq: 2,
    });
    await engine.close();
  });

  it('SQLite error codes map to storage error codes, keeping the cause', () => {
    const sqlite = (code: string) => Object.assign(new Error(code), { code });
    const cases: [string, string][] = [
      ['SQLITE_FULL', 'GREGOR_ERR_STORAGE_FULL'],
      ['SQLITE_CANTOPEN', 'GREGOR_ERR_STORAGE_UNAVAILABLE'],
      ['SQLITE_IOERR_FSYNC', 'GREGOR_ERR_STORAGE_UNAVAILABLE'],
      ['SQLITE_BUSY', 'GREGOR_ERR_STORAGE_UNAVAILABLE'],
      ['SQLITE_LOCKED', 'GREGOR_ERR_STORAGE_UNAVAILABLE'],
      ['SQLITE_READONLY', 'GREGOR_ERR_STORAGE_UNAVAILABLE'],
      ['SQLITE_CONSTRAINT_UNIQUE', 'GREGOR_ERR_STORAGE_CONSTRAINT'],
      ['SQLITE_CORRUPT', 'GREGOR_ERR_STORAGE_FAILED'],
    ];
    for (const [code, expected] of cases) {
      const cause = sqlite(code);
      const mapped = toStorageError(cause, 'testing');
      expect([code, mapped.code]).toEqual([code, expected]);
      expect(mapped.cause).toBe(cause);
    }
    const passed = new GregorError('MESSAGE_TOO_OLD', 'too old');
    expect(toStorageError(passed, 'testing')).toBe(passed);
  });

  it('a path that cannot be opened fails with STORAGE_UNAVAILABLE', async () => {
    expect(await codeOf(openSqliteEngine({ path: dir }))).toBe('GREGOR_ERR_STORAGE_UNAVAILABLE');
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'not a directory');
    expect(await codeOf(openSqliteEngine({ path: join(file, 'gregor.db') }))).toBe(
      'GREGOR_ERR_STORAGE_UNAVAILABLE',
    );
  });

  it('a file that is not a database fails with a storage error, not a crash', async () => {
    const path = join(dir, 'junk.db');
    writeFileSync(path, 'x'.repeat(8192));
    expect(await codeOf(openSqliteEngine({ path }))).toMatch(/^GREGOR_ERR_STORAGE_/);
  });

  it('close is safe twice and every call afterwards fails with CLOSED', async () => {
    const engine = await openSqliteEngine({ path: join(dir, 'gregor.db') });
    const pending = engine.consumeMessage(create('u', 'a', s(1000)));
    await engine.close();
    await engine.close();
    expect(await pending).toMatchObject({ status: 'stored' });
    for (const call of [
      engine.state('u'),
      engine.messagesAfter('u', null, 0),
      engine.inBandMessagesSince('u', null, { time: 0 }),
      engine.claimDueReminders('w', 0, 1, 1),
      engine.completeReminders('w', []),
      engine.compact(0),
      engine.consumeMessage(create('u', 'b', s(1000))),
    ]) {
      expect(await codeOf(call)).toBe('GREGOR_ERR_CLOSED');
    }
  });
});
