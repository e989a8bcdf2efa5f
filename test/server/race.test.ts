import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer([
    '--storage',
    'memory',
    '--rate-limit-per-second',
    '100000',
    '--rate-limit-burst',
    '100000',
  ]);
});
afterAll(async () => {
  await server.cleanup();
});

describe('the last-disconnect / new-connect race (seed 003)', () => {
  it('hammered 1,000 times, never leaves a device without updates', async () => {
    const ROUNDS = 1000;
    const PARALLEL = 25;
    let delivered = 0;
    const round = async (i: number) => {
      const uid = `race${i % PARALLEL}`;
      const token = await server.userToken(uid);
      const first = await connectDevice(server.ws, token, `a${i}`);
      // The user's only device leaves while a new one arrives: both race through the hub.
      const [, second] = await Promise.all([first.device.close(), connectDevice(server.ws, token, `b${i}`)]);
      const { body } = await server.inject(uid, {
        id: `m${i}`,
        system: 'gregor',
        body: { create: { [`i${i}`]: { category: 'race' } } },
      });
      const frame = await second.device.next(
        (f) => f.type === 'message' && (f.message as { id: string }).id === body.msg_id,
        3000,
      );
      expect(frame).toBeDefined();
      delivered++;
      await second.device.close();
    };
    for (let start = 0; start < ROUNDS; start += PARALLEL) {
      await Promise.all(Array.from({ length: PARALLEL }, (_, k) => round(start + k)));
    }
    expect(delivered).toBe(ROUNDS);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.gregord.userCount).toBe(0);
  }, 120_000);
});
