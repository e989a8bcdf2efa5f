import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { connectDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['--max-buffer-bytes', '262144']);
});
afterAll(async () => {
  await server.cleanup();
});

const big = (i: number) => ({
  system: 'gregor',
  body: { create: { [`big${i}`]: { category: 'bulk', body: { i, pad: 'x'.repeat(48 * 1024) } } } },
});

describe('a slow device', () => {
  it("never delays the user's other devices or other users, is cut off once its buffer is full, and converges after reconnecting", async () => {
    const token = await server.userToken('slowpoke');
    const slow = await connectDevice(server.ws, token, 'slow');
    const fast = await connectDevice(server.ws, token, 'fast');
    const other = await connectDevice(server.ws, await server.userToken('bystander'), 'd');
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (slow.device.socket as unknown as { _socket: Socket })._socket.pause();

    const count = 150;
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      await server.inject('slowpoke', big(i));
      if (i % 10 === 0)
        await server.inject('bystander', {
          system: 'gregor',
          body: { create: { [`b${i}`]: { category: 'c' } } },
        });
    }
    for (let i = 0; i < count; i++)
      await fast.device.next((f) => f.type === 'message' && JSON.stringify(f).includes(`"big${i}"`));
    for (let i = 0; i < count; i += 10)
      await other.device.next((f) => f.type === 'message' && JSON.stringify(f).includes(`"b${i}"`));
    expect(Date.now() - started).toBeLessThan(20_000);

    (slow.device.socket as unknown as { _socket: Socket })._socket.resume();
    const closed = await slow.device.closed;
    expect(closed.code).toBe(CLOSE.SLOW_CONSUMER);

    const again = await connectDevice(server.ws, token, 'slow', {
      cursor: slow.answer.cursor as number,
      hash: slow.answer.hash as string,
    });
    let hash = again.answer.hash;
    if (again.answer.type === 'messages') expect((again.answer.messages as unknown[]).length).toBe(count);
    else expect(again.answer.type).toBe('state');
    const reference = await connectDevice(server.ws, token, 'reference');
    hash = again.answer.hash;
    expect(hash).toBe(reference.answer.hash);
    await Promise.all([
      again.device.close(),
      reference.device.close(),
      fast.device.close(),
      other.device.close(),
    ]);
  }, 60_000);
});
