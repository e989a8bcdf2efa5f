import WebSocket from 'ws';
import { GregorClient } from '../../src/client/client.js';
import type { StorageAdapter } from '../../src/client/storage.js';
import type { WebSocketConstructor } from '../../src/client/types.js';
import type { TestServer } from '../support/server.js';

/** The `ws` package as the SDK's WebSocket (Node 20 has no global one). */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** A client of `uid` on `device` against a test server, with fast reconnects. */
export function testClient(
  server: Pick<TestServer, 'ws' | 'userToken'>,
  uid: string,
  device: string,
  options: { storage?: StorageAdapter; WebSocket?: WebSocketConstructor } = {},
): GregorClient {
  return new GregorClient({
    url: server.ws,
    device,
    getToken: () => server.userToken(uid, device),
    WebSocket: options.WebSocket ?? NodeWebSocket,
    backoff: { minMs: 20, maxMs: 200 },
    ...(options.storage ? { storage: options.storage } : {}),
  });
}

/** Polls until `check` holds (or throws with `what` after the timeout). */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The server's state hash for a user's device, over HTTP. */
export async function serverHash(server: TestServer, uid: string, device: string): Promise<string> {
  const r = await fetch(`${server.url}/v1/users/${uid}/state?device=${device}`, {
    headers: { authorization: `Bearer ${await server.serviceToken()}` },
  });
  return ((await r.json()) as { hash: string }).hash;
}
