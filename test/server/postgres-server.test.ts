import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';

const pgUp = await requirePostgres('gregord on PostgreSQL');

describe.skipIf(!pgUp)('gregord on PostgreSQL', () => {
  let db: TempDatabase;
  let server: TestServer;
  beforeAll(async () => {
    db = await createTempDatabase('gregor_srv_');
    server = await startTestServer(['--storage', 'postgres', '--postgres-url', db.url]);
  });
  afterAll(async () => {
    await server?.cleanup();
    await db?.drop();
  });

  it('stores, delivers and resyncs exactly as on SQLite', async () => {
    const token = await server.userToken('pg-user');
    const { device, answer } = await connectDevice(server.ws, token, 'phone');
    const { body } = await server.inject('pg-user', {
      system: 'gregor',
      body: { create: { a: { category: 'c', body: 1 } } },
    });
    expect(body).toMatchObject({ seq: 1, status: 'stored' });
    expect((await device.type('message')).message).toMatchObject({ id: body.msg_id, seq: 1 });
    await device.close();
    await server.inject('pg-user', { system: 'gregor', body: { create: { b: { category: 'c', body: 2 } } } });
    const again = await connectDevice(server.ws, token, 'phone', { cursor: 1, hash: answer.hash as string });
    expect(again.answer.type).toBe('messages');
    expect((again.answer.messages as { seq: number }[]).map((m) => m.seq)).toEqual([2]);
    await again.device.close();
  });
});
