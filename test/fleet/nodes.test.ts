import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeToken } from '../../src/cli/tokens.js';
import type { GregorClient } from '../../src/client/client.js';
import { GregorClient as Client } from '../../src/client/client.js';
import { NodeWebSocket, until } from '../client/support.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { requireRedis } from '../support/redis.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';
import { type NodeProcess, type ServerProcess, startNode, startRedis } from './processes.js';

const up = (await requirePostgres('fleet processes')) && (await requireRedis('fleet processes'));

async function inject(node: NodeProcess, uid: string, id: string): Promise<boolean> {
  const token = await makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 300 });
  try {
    const r = await fetch(`${node.url}/v1/users/${uid}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, system: 'gregor', body: { create: { [id]: { category: 'fleet' } } } }),
    });
    return r.ok;
  } catch {
    return false; // a killed node: not acknowledged
  }
}

async function serverHash(node: NodeProcess, uid: string, device: string): Promise<string> {
  const token = await makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 300 });
  const r = await fetch(`${node.url}/v1/users/${uid}/state?device=${device}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await r.json()) as { hash: string }).hash;
}

function clientsOf(uid: string, nodes: NodeProcess[], count: number): GregorClient[] {
  return Array.from({ length: count }, (_, i) => {
    // Each device starts on a different node and moves on to the next when its node goes away.
    const urls = nodes.map((_, k) => nodes[(i + k) % nodes.length]!.ws);
    return new Client({
      url: urls,
      device: `dev${i}`,
      getToken: () => makeToken({ secret: USER_SECRET, uid, device: `dev${i}`, ttlSeconds: 600 }),
      WebSocket: NodeWebSocket,
      backoff: { minMs: 20, maxMs: 300 },
    });
  });
}

for (const layout of ['one database', 'two shard databases'] as const) {
  describe.skipIf(!up)(`three gregord processes, ${layout}, one Redis`, () => {
    let dbs: TempDatabase[] = [];
    let redis: ServerProcess;
    let nodes: NodeProcess[] = [];
    const prefix = `fleet-${randomBytes(4).toString('hex')}:`;

    beforeAll(async () => {
      dbs = await Promise.all(
        (layout === 'one database' ? [0] : [0, 1]).map(() => createTempDatabase('gregor_nodes_')),
      );
      redis = await startRedis(16_380 + Math.floor(Math.random() * 1000));
      const storage =
        dbs.length === 1
          ? ['--postgres-url', dbs[0]!.url]
          : ['--postgres-shards', dbs.map((d) => d.url).join(',')];
      nodes = await Promise.all(
        [1, 2, 3].map((n) =>
          startNode([
            '--storage',
            'postgres',
            ...storage,
            '--redis-url',
            redis.url,
            '--redis-prefix',
            prefix,
            '--node-id',
            `node${n}`,
          ]),
        ),
      );
    }, 60_000);

    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis?.stop();
      await Promise.all(dbs.map((d) => d.drop()));
    });

    it('devices spread over the nodes converge; a node killed with SIGKILL and a Redis restart lose no acknowledged message', async () => {
      const uid = `fleet-${randomBytes(3).toString('hex')}`;
      const clients = clientsOf(uid, nodes, 6);
      await Promise.all(clients.map((c) => c.ready()));
      const acknowledged: string[] = [];
      let readyWhileDown = 0;
      for (let i = 0; i < 60; i++) {
        const node = nodes[i % 3]!;
        if (await inject(node, uid, `m${i}`)) acknowledged.push(`m${i}`);
        if (i === 20) await nodes[1]!.stop('SIGKILL');
        if (i === 35) {
          const restarting = redis.restart(800);
          await new Promise((r) => setTimeout(r, 300));
          for (const n of [nodes[0]!, nodes[2]!]) if ((await fetch(`${n.url}/readyz`)).ok) readyWhileDown++;
          await restarting;
        }
      }
      const alive = [nodes[0]!, nodes[2]!];
      for (const c of clients) {
        await until(
          `${c.device} converges`,
          async () =>
            c.connection === 'connected' && c.hash() === (await serverHash(alive[0]!, uid, c.device)),
          30_000,
        );
        const ids = new Set(c.items().map((i) => i.id));
        expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      }
      expect(acknowledged.length).toBeGreaterThan(40);
      expect(readyWhileDown).toBe(0);
      await until(
        'readiness is green again',
        async () => (await fetch(`${alive[0]!.url}/readyz`)).ok,
        10_000,
      );
      await Promise.all(clients.map((c) => c.close()));
    }, 90_000);
  });
}
