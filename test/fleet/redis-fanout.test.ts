import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { RESYNC_CHANNEL } from '../../src/server/fanout/redis/index.js';
import { serverHash, testClient, until } from '../client/support.js';
import { connectDevice } from '../support/device.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { REDIS_URL, redisCommand, requireRedis } from '../support/redis.js';
import { startTestServer, type TestServer } from '../support/server.js';

const up = (await requirePostgres('fleet')) && (await requireRedis('fleet'));

/** Kills only this test's subscriber connections (named `<prefix><node>:sub`): other tests share the Redis. */
async function killSubscribers(prefix: string): Promise<void> {
  const list = String(await redisCommand('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${prefix}`))
    .map((line) => /^id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  expect(ids.length).toBe(2);
  for (const id of ids) await redisCommand('CLIENT', 'KILL', 'ID', id);
}

describe.skipIf(!up)('two nodes on one PostgreSQL, fanned out through Redis', () => {
  let db: TempDatabase;
  let a: TestServer;
  let b: TestServer;
  const prefix = `gregor-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    db = await createTempDatabase('gregor_fleet_');
    const settings = (node: string) => [
      '--storage',
      'postgres',
      '--postgres-url',
      db.url,
      '--redis-url',
      REDIS_URL,
      '--redis-prefix',
      prefix,
      '--node-id',
      node,
    ];
    a = await startTestServer(settings('a'));
    b = await startTestServer(settings('b'));
    await until(
      'both nodes are ready',
      async () => (await fetch(`${a.url}/readyz`)).ok && (await fetch(`${b.url}/readyz`)).ok,
    );
  });
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await db?.drop();
  });

  it('a message injected on either node reaches every device exactly once, wherever it is connected', async () => {
    const token = await a.userToken('spread');
    const onA = await connectDevice(a.ws, token, 'phone');
    const onB = await connectDevice(b.ws, token, 'laptop');
    const first = await a.inject('spread', {
      system: 'gregor',
      body: { create: { one: { category: 'c' } } },
    });
    const second = await b.inject('spread', {
      system: 'gregor',
      body: { create: { two: { category: 'c' } } },
    });
    for (const d of [onA.device, onB.device]) {
      await d.next((f) => f.type === 'message' && (f.message as { id: string }).id === first.body.msg_id);
      await d.next((f) => f.type === 'message' && (f.message as { id: string }).id === second.body.msg_id);
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const d of [onA.device, onB.device]) expect(d.all('message')).toHaveLength(2);
    await Promise.all([onA.device.close(), onB.device.close()]);
  });

  it('SDK clients on both nodes converge while the subscriber connections are killed mid-stream', async () => {
    const clients = [testClient(a, 'killed', 'p'), testClient(b, 'killed', 'q')];
    await Promise.all(clients.map((c) => c.ready()));
    const resyncs: number[] = [];
    for (const c of clients)
      c.on('connection', ({ newState }) => newState === 'disconnected' && resyncs.push(1));
    for (let i = 0; i < 20; i++) {
      const node = i % 2 === 0 ? a : b;
      await node.inject('killed', { system: 'gregor', body: { create: { [`k${i}`]: { category: 'c' } } } });
      if (i === 8) await killSubscribers(prefix);
    }
    for (const c of clients) {
      await until(
        `${c.device} converges`,
        async () =>
          c.connection === 'connected' &&
          c.items().length === 20 &&
          c.hash() === (await serverHash(a, 'killed', c.device)),
        15_000,
      );
    }
    expect(resyncs.length).toBeGreaterThan(0);
    await Promise.all(clients.map((c) => c.close()));
  }, 30_000);

  it('a user whose ID is "resync" never takes the resync channel with it', async () => {
    const numsub = async () =>
      (await redisCommand('PUBSUB', 'NUMSUB', `${prefix}${RESYNC_CHANNEL}`)) as [string, number];
    expect((await numsub())[1]).toBe(2);
    const { device } = await connectDevice(a.ws, await a.userToken('resync'), 'phone');
    await device.close();
    await until('node a has dropped the channel of user "resync"', async () => {
      const [, n] = (await redisCommand('PUBSUB', 'NUMSUB', `${prefix}resync`)) as [string, number];
      return n === 0;
    });
    // Both nodes still hear resync notices.
    expect((await numsub())[1]).toBe(2);
  });

  it('readiness is not green while the node has no Redis subscription', async () => {
    const lonely = await startTestServer([
      '--storage',
      'postgres',
      '--postgres-url',
      db.url,
      '--redis-url',
      'redis://127.0.0.1:1',
      '--redis-prefix',
      prefix,
    ]);
    try {
      const r = await fetch(`${lonely.url}/readyz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { checks: { pubsub: string } }).checks.pubsub).toContain('degraded');
      expect(await (await fetch(`${lonely.url}/metrics`)).text()).toMatch(/^gregor_pubsub_healthy 0$/m);
      expect(await (await fetch(`${a.url}/metrics`)).text()).toMatch(/^gregor_pubsub_healthy 1$/m);
      // Local delivery goes on without Redis.
      const { device } = await connectDevice(lonely.ws, await lonely.userToken('alone'), 'd');
      await lonely.inject('alone', { system: 'gregor', body: { create: { x: { category: 'c' } } } });
      expect((await device.type('message')).message).toMatchObject({ seq: 1 });
      expect(CLOSE.RESYNC).toBe(4007);
      await device.close();
    } finally {
      await lonely.cleanup();
    }
  });
});
