import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryStorage } from '../../src/client/storage.js';
import type { WebSocketConstructor } from '../../src/client/types.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { testClient, until } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

/** A WebSocket that counts the bytes of every frame it receives. */
function countingWebSocket(counter: { bytes: number }): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data: Buffer) => {
        counter.bytes += data.length;
      });
    }
  } as unknown as WebSocketConstructor;
}

describe('bytes on the wire for a reconnect', () => {
  it('after missing k small messages: at most 1.2 × their size plus a fixed overhead; with nothing missed: under 200 bytes', async () => {
    const storage = new MemoryStorage();
    const first = testClient(server, 'bytes', 'phone', { storage });
    await first.ready();
    await first.create('seed', { category: 'c', body: 'x' });
    await first.close();

    const k = 50;
    for (let i = 0; i < k; i++) {
      await server.inject('bytes', {
        system: 'gregor',
        body: { create: { [`n${i}`]: { category: 'note', body: { i } } } },
      });
    }
    const log = await fetch(`${server.url}/v1/users/bytes/messages?after=1&device=phone`, {
      headers: { authorization: `Bearer ${await server.serviceToken()}` },
    });
    const missed = ((await log.json()) as { messages: unknown[] }).messages;
    expect(missed).toHaveLength(k);
    const missedBytes = missed.reduce<number>((sum, m) => sum + JSON.stringify(m).length, 0);

    const afterGap = { bytes: 0 };
    const second = testClient(server, 'bytes', 'phone', { storage, WebSocket: countingWebSocket(afterGap) });
    await second.ready();
    await until('the missed items arrived', () => second.items().length === k + 1);
    const overhead = 300; // hello and the messages frame's envelope
    console.log(
      `reconnect after ${k} missed messages (${missedBytes} bytes): ${afterGap.bytes} bytes received`,
    );
    expect(afterGap.bytes).toBeLessThanOrEqual(1.2 * missedBytes + overhead);
    await second.close();

    const nothing = { bytes: 0 };
    const third = testClient(server, 'bytes', 'phone', { storage, WebSocket: countingWebSocket(nothing) });
    await third.ready();
    console.log(`reconnect with nothing missed: ${nothing.bytes} bytes received`);
    expect(nothing.bytes).toBeLessThan(200);
    await third.close();
  });
});
