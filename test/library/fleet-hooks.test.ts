import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeToken } from '../../src/cli/tokens.js';
import {
  createGregor,
  type Extension,
  type FanOut,
  type Gregor,
  MemoryBus,
  MemoryFanOut,
  NatsFanOut,
  RedisFanOut,
} from '../../src/server/index.js';
import { until } from '../client/support.js';
import { connectDevice } from '../support/device.js';
import { NATS_URL, requireNats } from '../support/nats.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { REDIS_URL, requireRedis } from '../support/redis.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';

const quiet = { error() {}, warn() {}, info() {} };
const userToken = (uid: string) => makeToken({ secret: USER_SECRET, uid, ttlSeconds: 600 });
const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 600 });

/** Each backend makes the fan-out of one node; nodes made by one backend form one fleet. */
const BACKENDS: { name: string; up: () => Promise<boolean>; fleet: () => (node: string) => FanOut }[] = [
  {
    name: 'memory (one process)',
    up: async () => true,
    fleet: () => {
      const bus = new MemoryBus();
      return (nodeId) => new MemoryFanOut({ bus, nodeId });
    },
  },
  {
    name: 'redis',
    up: () => requireRedis('fleet hooks over Redis'),
    fleet: () => {
      const prefix = `gregor-hooks-${randomBytes(4).toString('hex')}:`;
      return (nodeId) => new RedisFanOut({ url: REDIS_URL, prefix, nodeId, log: quiet });
    },
  },
  {
    name: 'nats',
    up: () => requireNats('fleet hooks over NATS'),
    fleet: () => {
      const prefix = `gregor-hooks-${randomBytes(4).toString('hex')}`;
      return (nodeId) => new NatsFanOut({ servers: NATS_URL, prefix, nodeId, log: quiet });
    },
  },
];

const pg = await requirePostgres('fleet hooks');

for (const backend of BACKENDS) {
  const up = pg && (await backend.up());
  describe.skipIf(!up)(`hooks in a two-node fleet, fanned out through ${backend.name}`, () => {
    let db: TempDatabase;
    const nodes: { gregor: Gregor; url: string; ws: string; log: string[] }[] = [];
    /** Connects and disconnects on both nodes, in the order they happened. */
    const presence: string[] = [];

    beforeAll(async () => {
      db = await createTempDatabase('gregor_hooks_');
      const fanout = backend.fleet();
      for (const name of ['a', 'b']) {
        const log: string[] = [];
        const recorder: Extension = {
          name: 'recorder',
          onUndelivered: ({ message }) => void log.push(`undelivered ${message.md.uid} ${message.md.msgId}`),
          async onConnect({ uid, device, firstOnNode, firstInFleet }) {
            presence.push(`+${uid}/${device} node=${firstOnNode} fleet=${await firstInFleet()}`);
          },
          async onDisconnect({ uid, device, lastOnNode, lastInFleet }) {
            presence.push(`-${uid}/${device} node=${lastOnNode} fleet=${await lastInFleet()}`);
          },
        };
        const gregor = await createGregor({
          settings: {
            storage: 'postgres',
            postgresUrl: db.url,
            port: 0,
            nodeId: name,
            jwtSecret: USER_SECRET,
            serviceSecret: SERVICE_SECRET,
            logLevel: 'silent',
          },
          fanout: fanout(name),
          extensions: [recorder],
        });
        const url = await gregor.listen();
        nodes.push({ gregor, url, ws: `${url.replace('http', 'ws')}/v1/ws`, log });
      }
      for (const n of nodes) {
        await until(`node ${n.url} is ready`, async () => (await fetch(`${n.url}/readyz`)).ok, 15_000);
      }
    }, 60_000);

    afterAll(async () => {
      for (const n of nodes) await n.gregor.close();
      await db?.drop();
    });

    async function post(url: string, uid: string, id: string): Promise<string> {
      const r = await fetch(`${url}/v1/users/${uid}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ system: 'gregor', body: { create: { [id]: { category: 'c' } } } }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { msg_id: string }).msg_id;
    }
    const undelivered = (n: { log: string[] }) => n.log.filter((l) => l.startsWith('undelivered'));

    it('onUndelivered fires exactly once, on the storing node, for a user with no device anywhere', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const msgId = await post(a.url, 'nobody', 'lost');
      await until('a saw the message undelivered', () => undelivered(a).length > 0);
      // A user with a device on b only: a publishes to b, so a's message is delivered.
      const { device } = await connectDevice(b.ws, await userToken('ann'), 'phone');
      const delivered = await post(a.url, 'ann', 'found');
      await device.next((f) => f.type === 'message' && (f.message as { id: string }).id === delivered);
      // A later undelivered message on each node is the barrier: everything before it is settled.
      const barrierA = await post(a.url, 'nobody-2', 'x');
      const barrierB = await post(b.url, 'nobody-3', 'y');
      await until(
        'the barriers are undelivered',
        () =>
          undelivered(a).some((l) => l.endsWith(barrierA)) &&
          undelivered(b).some((l) => l.endsWith(barrierB)),
      );
      expect(undelivered(a)).toEqual([`undelivered nobody ${msgId}`, `undelivered nobody-2 ${barrierA}`]);
      expect(undelivered(b)).toEqual([`undelivered nobody-3 ${barrierB}`]);
      await device.close();
    });

    it("onConnect and onDisconnect tell the user's first and last device on the node and in the fleet", async () => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const events = () => presence.filter((l) => l.includes('cyd/'));
      const onA = await connectDevice(a.ws, await userToken('cyd'), 'phone');
      const onB = await connectDevice(b.ws, await userToken('cyd'), 'laptop');
      await onA.device.close();
      await until('phone left', () => events().length === 3);
      await onB.device.close();
      await until('laptop left', () => events().length === 4);
      expect(events()).toEqual([
        '+cyd/phone node=true fleet=true',
        '+cyd/laptop node=true fleet=false',
        '-cyd/phone node=true fleet=false',
        '-cyd/laptop node=true fleet=true',
      ]);
    });
  });
}
