import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverHash, testClient, until } from '../client/support.js';
import { requireNatsServer } from '../support/nats.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { requireRedis } from '../support/redis.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { freePort, startNats, startRedis, startRedisCluster } from './processes.js';

/** A private fan-out server the test may stop and start, and the settings that point nodes at it. */
interface Backend {
  readonly settings: string[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const BACKENDS: { name: string; up: () => Promise<boolean>; start: () => Promise<Backend> }[] = [
  {
    name: 'Redis',
    up: () => requireRedis('fan-out faults over Redis'),
    start: async () => {
      const redis = await startRedis(await freePort());
      return {
        settings: ['--fanout', 'redis', '--redis-url', redis.url],
        down: () => redis.stop(),
        up: () => redis.start(),
        close: () => redis.stop(),
      };
    },
  },
  {
    name: 'Redis Cluster',
    up: () => requireRedis('fan-out faults over Redis Cluster'),
    start: async () => {
      const cluster = await startRedisCluster(19_000 + Math.floor(Math.random() * 300) * 3);
      return {
        settings: ['--fanout', 'redis-cluster', '--redis-nodes', cluster.nodes.join(',')],
        down: () => cluster.down(),
        up: () => cluster.up(),
        close: () => cluster.stop(),
      };
    },
  },
  {
    name: 'NATS',
    up: () => requireNatsServer('fan-out faults over NATS'),
    start: async () => {
      const nats = await startNats(await freePort());
      return {
        settings: ['--fanout', 'nats', '--nats-url', nats.url],
        down: () => nats.stop(),
        up: () => nats.start(),
        close: () => nats.stop(),
      };
    },
  },
];

const pg = await requirePostgres('fan-out faults');

for (const backend of BACKENDS) {
  const up = pg && (await backend.up());
  describe.skipIf(!up)(
    `two nodes fanned out through ${backend.name}, its server restarted mid-stream`,
    () => {
      let db: TempDatabase;
      let server: Backend;
      let a: TestServer;
      let b: TestServer;

      beforeAll(async () => {
        db = await createTempDatabase('gregor_faults_');
        server = await backend.start();
        const settings = (node: string) => [
          '--storage',
          'postgres',
          '--postgres-url',
          db.url,
          '--node-id',
          node,
          ...server.settings,
        ];
        a = await startTestServer(settings('a'));
        b = await startTestServer(settings('b'));
        for (const n of [a, b]) {
          await until('the node is ready', async () => (await fetch(`${n.url}/readyz`)).ok, 20_000);
        }
      }, 60_000);

      afterAll(async () => {
        await a?.cleanup();
        await b?.cleanup();
        await server?.close();
        await db?.drop();
      });

      it('no acknowledged message is lost, readiness is red while it is down, and every device converges', async () => {
        const clients = [
          testClient(a, 'sam', 'phone'),
          testClient(b, 'sam', 'laptop'),
          testClient(b, 'sam', 'tab'),
        ];
        await Promise.all(clients.map((c) => c.ready()));
        const acked: string[] = [];
        const inject = async (i: number) => {
          const node = i % 2 === 0 ? a : b;
          const r = await node.inject('sam', {
            system: 'gregor',
            body: { create: { [`m${i}`]: { category: 'c' } } },
          });
          if (r.status === 200) acked.push(`m${i}`);
        };
        for (let i = 0; i < 8; i++) await inject(i);
        await server.down();
        await until(
          'both nodes report the fan-out down',
          async () =>
            (await fetch(`${a.url}/readyz`)).status === 503 &&
            (await fetch(`${b.url}/readyz`)).status === 503,
          20_000,
        );
        // The store does not depend on the fan-out: both nodes keep acknowledging.
        for (let i = 8; i < 14; i++) await inject(i);
        await server.up();
        for (let i = 14; i < 20; i++) await inject(i);
        expect(acked).toHaveLength(20);
        await until(
          'both nodes are ready again',
          async () => (await fetch(`${a.url}/readyz`)).ok && (await fetch(`${b.url}/readyz`)).ok,
          30_000,
        );
        for (const c of clients) {
          await until(
            `${c.device} converges`,
            async () =>
              c.connection === 'connected' &&
              acked.every((id) => c.get(id) !== undefined) &&
              c.hash() === (await serverHash(a, 'sam', c.device)),
            30_000,
          );
        }
        await Promise.all(clients.map((c) => c.close()));
      }, 120_000);
    },
  );
}
