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
