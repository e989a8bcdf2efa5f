import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { GregorClient } from '../../src/client/client.js';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { serverHash, testClient, until } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['--rate-limit-per-second', '100000', '--rate-limit-burst', '100000']);
});
afterAll(async () => {
  await server.cleanup();
});

const IDS = ['a', 'b', 'c', 'd'];
type Op =
  | { kind: 'create'; client: number; id: string; category: string }
  | { kind: 'dismiss'; client: number; ids: string[]; mine: boolean }
  | { kind: 'dismissCategory'; client: number; category: string; mine: boolean }
  | { kind: 'disconnect'; client: number }
  | { kind: 'pause' };

const op = (clients: number): fc.Arbitrary<Op> => {
  const client = fc.nat({ max: clients - 1 });
  const category = fc.constantFrom('x', 'y');
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('create' as const),
        client,
        id: fc.constantFrom(...IDS),
        category,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('dismiss' as const),
        client,
        ids: fc.subarray(IDS, { minLength: 1 }),
        mine: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('dismissCategory' as const),
        client,
        category,
        mine: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), client }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'pause' as const }) },
  );
};

const scenario = fc
  .integer({ min: 2, max: 4 })
  .chain((n) => fc.record({ n: fc.constant(n), ops: fc.array(op(n), { minLength: 3, maxLength: 25 }) }));

let run = 0;

describe('clients converge', () => {
  it('several clients making random concurrent changes with random disconnects end equal to the server', async ({
    signal,
  }) => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, ops }) => {
        // After a timeout the remaining runs pass without work: nothing outlives the test.
        if (signal.aborted) return true;
        const uid = `conv${run++}`;
        const clients: GregorClient[] = Array.from({ length: n }, (_, i) =>
          testClient(server, uid, `dev${i}`),
        );
        try {
          await Promise.all(clients.map((c) => c.ready()));
          const sends: Promise<unknown>[] = [];
          for (const o of ops) {
            if (o.kind === 'pause') await new Promise((r) => setTimeout(r, 5));
            else if (o.kind === 'disconnect') {
              // The server drops the device (as a restart or a network cut would); it must come back.
              server.gregord.closeDevices(
                { uid, device: `dev${o.client}` },
                CLOSE.SERVER_RESTART,
                'test disconnect',
              );
            } else {
              const c = clients[o.client]!;
              if (o.kind === 'create') sends.push(c.create(o.id, { category: o.category, body: o.client }));
              if (o.kind === 'dismiss') sends.push(c.dismiss(o.ids, { thisDeviceOnly: o.mine }));
              if (o.kind === 'dismissCategory')
                sends.push(c.dismissCategory(o.category, { thisDeviceOnly: o.mine }));
            }
          }
          await Promise.all(sends);
          for (const c of clients) {
            await until(
              `${c.device} is connected, quiet and equal to the server`,
              async () =>
                c.connection === 'connected' &&
                c.items().every((i) => !i.pending) &&
                c.hash() === (await serverHash(server, uid, c.device)),
              10_000,
            );
          }
          return true;
        } finally {
          await Promise.all(clients.map((c) => c.close()));
        }
      }),
      { numRuns: Number(process.env.GREGOR_CLIENT_RUNS ?? 100) },
    );
  }, 300_000);
});
