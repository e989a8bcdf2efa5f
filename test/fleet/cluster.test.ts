import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { requireRedis } from '../support/redis.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startRedisCluster } from './processes.js';

const run = promisify(execFile);
const up = (await requirePostgres('Redis Cluster fan-out')) && (await requireRedis('Redis Cluster fan-out'));

describe.skipIf(!up)('two nodes fanned out through a Redis Cluster (sharded pub/sub)', () => {
  let db: TempDatabase;
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    db = await createTempDatabase('gregor_cluster_');
    cluster = await startRedisCluster(18_400 + Math.floor(Math.random() * 500) * 3);
    const settings = (node: string) => [
      '--storage',
      'postgres',
      '--postgres-url',
      db.url,
      '--redis-nodes',
      cluster.nodes.join(','),
      '--node-id',
      node,
    ];
    a = await startTestServer(settings('a'));
    b = await startTestServer(settings('b'));
    for (const s of [a, b]) {
      for (let i = 0; !(await fetch(`${s.url}/readyz`)).ok; i++) {
        if (i > 100) throw new Error('a node never became ready');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 60_000);

  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await cluster?.stop();
    await db?.drop();
  });

  it('messages for users on every shard reach their devices on the other node exactly once', async () => {
    for (const uid of ['ann', 'bob', 'cyd', 'dee', 'eve']) {
      const token = await a.userToken(uid);
      const onA = await connectDevice(a.ws, token, 'phone');
      const onB = await connectDevice(b.ws, token, 'laptop');
      const shardChannels = await Promise.all(
        cluster.nodes.map(
          async (n) =>
            (await run('redis-cli', ['-p', n.split(':')[1]!, 'PUBSUB', 'SHARDCHANNELS', '*'])).stdout,
        ),
      );
      expect(shardChannels.join('\n')).toContain(`gregor:${uid}`);
      const first = await a.inject(uid, { system: 'gregor', body: { create: { one: { category: 'c' } } } });
      const second = await b.inject(uid, { system: 'gregor', body: { create: { two: { category: 'c' } } } });
      for (const d of [onA.device, onB.device]) {
        await d.next((f) => f.type === 'message' && (f.message as { id: string }).id === first.body.msg_id);
        await d.next((f) => f.type === 'message' && (f.message as { id: string }).id === second.body.msg_id);
      }
      await new Promise((r) => setTimeout(r, 50));
      for (const d of [onA.device, onB.device]) expect(d.all('message')).toHaveLength(2);
      await Promise.all([onA.device.close(), onB.device.close()]);
    }
  });
});
