import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';

const pgUp = await requirePostgres('unstorable text on gregord with PostgreSQL');

const create = (id: string, item: Record<string, unknown>) => ({
  system: 'gregor',
  body: { create: { [id]: { category: 'c', ...item } } },
});

async function stateOf(server: TestServer, uid: string): Promise<{ items: object; cursor: number }> {
  const r = await fetch(`${server.url}/v1/users/${uid}/state`, {
    headers: { authorization: `Bearer ${await server.serviceToken()}` },
  });
  return (await r.json()) as { items: object; cursor: number };
}

/** The same scenarios on each storage gregord offers with a text-typed database. */
function describeOn(name: string, start: () => Promise<{ server: TestServer; stop: () => Promise<void> }>) {
  describe(`gregord on ${name}: text no engine can store as sent`, () => {
    let server: TestServer;
    let stop: () => Promise<void>;
    beforeAll(async () => {
      ({ server, stop } = await start());
    });
    afterAll(async () => {
      await stop?.();
    });

    it('a lone surrogate in a category or in a body is refused with 400 over HTTP and WebSocket, and nothing is stored', async () => {
      const uid = `lone-${name}`;
      for (const bad of [
        create('a', { category: 'x\ud800' }),
        create('b', { body: { text: '\udc00' } }),
        create('c', { body: { 'k\ud83d': 1 } }),
      ]) {
        const r = await server.inject(uid, bad);
        expect(r.status).toBe(400);
        expect(r.body.code).toBe('GREGOR_ERR_INVALID_MESSAGE');
        expect(String(r.body.message)).toContain('well-formed Unicode');
      }
      const { device } = await connectDevice(server.ws, await server.userToken(uid), 'phone');
      device.send({ type: 'consume', ref: 'r1', message: create('d', { category: '\ud800' }) });
      expect(await device.type('error')).toMatchObject({ ref: 'r1', code: 'GREGOR_ERR_INVALID_MESSAGE' });
      await device.close();
      expect(await stateOf(server, uid)).toMatchObject({ items: {}, cursor: 0 });
    });

    it('a NUL or another control character in a category is refused with 400, not a storage failure', async () => {
      const uid = `ctl-${name}`;
      for (const category of ['a\u0000b', '\u0001', 'tab\there', 'del\u007f']) {
        const r = await server.inject(uid, create('a', { category }));
        expect(r.status).toBe(400);
        expect(r.body.code).toBe('GREGOR_ERR_INVALID_MESSAGE');
        expect(String(r.body.message)).toContain('body.create.a.category');
      }
      // A NUL inside a body is JSON-escaped text to every engine: it is stored and round-trips.
      const ok = await server.inject(uid, create('b', { body: { nul: 'a\u0000b' } }));
      expect(ok.body).toMatchObject({ status: 'stored', seq: 1 });
      expect(await stateOf(server, uid)).toMatchObject({ items: { b: { body: { nul: 'a\u0000b' } } } });
    });

    it('200 concurrent messages of 200 users, one with a NUL in its category: that one gets 400, the other 199 are stored', async () => {
      const uids = Array.from({ length: 200 }, (_, i) => `many-${name}-${i}`);
      const bad = 57;
      const answers = await Promise.all(
        uids.map((uid, i) =>
          server.inject(uid, create('x', { category: i === bad ? 'nul\u0000here' : 'ok' })),
        ),
      );
      answers.forEach((r, i) => {
        if (i === bad) {
          expect(r.status).toBe(400);
          expect(r.body).toMatchObject({ code: 'GREGOR_ERR_INVALID_MESSAGE' });
          expect(String(r.body.message)).toContain('body.create.x.category');
        } else expect(r).toMatchObject({ status: 200, body: { status: 'stored', seq: 1 } });
      });
      for (const [i, uid] of uids.entries()) {
        const state = await stateOf(server, uid);
        expect(Object.keys(state.items)).toEqual(i === bad ? [] : ['x']);
      }
    });
  });
}

describeOn('SQLite', async () => {
  const server = await startTestServer();
  return { server, stop: () => server.cleanup() };
});

if (pgUp) {
  let db: TempDatabase;
  describeOn('PostgreSQL', async () => {
    db = await createTempDatabase('gregor_srv_');
    const server = await startTestServer(['--storage', 'postgres', '--postgres-url', db.url]);
    return {
      server,
      stop: async () => {
        await server.cleanup();
        await db.drop();
      },
    };
  });
}
