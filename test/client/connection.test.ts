import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';
import { GregorClient } from '../../src/client/client.js';
import type { ConnectionState } from '../../src/client/types.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { NodeWebSocket, testClient, until } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

describe('the connection state machine', () => {
  it('a final close code (a refused token) stops reconnecting and says why', async () => {
    const states: ConnectionState[] = [];
    const errors: string[] = [];
    const client = new GregorClient({
      url: server.ws,
      device: 'd',
      token: 'not-a-jwt',
      WebSocket: NodeWebSocket,
      backoff: { minMs: 10, maxMs: 20 },
    });
    client.on('connection', ({ newState }) => states.push(newState));
    client.on('error', ({ code }) => errors.push(code));
    await until('the client gives up', () => client.connection === 'closed');
    await new Promise((r) => setTimeout(r, 100));
    expect(states).toEqual(['connecting', 'closed']);
    expect(errors).toEqual(['GREGOR_ERR_AUTH_INVALID', 'GREGOR_CLOSE_4500']);
  });

  it('a retry close code reconnects, asks getToken again, and resyncs', async () => {
    let tokens = 0;
    const client = new GregorClient({
      url: server.ws,
      device: 'd',
      getToken: () => {
        tokens++;
        return server.userToken('retry', 'd');
      },
      WebSocket: NodeWebSocket,
      backoff: { minMs: 10, maxMs: 20 },
    });
    await client.ready();
    server.gregord.closeDevices({ uid: 'retry' }, 4000, 'restart');
    await server.inject('retry', { system: 'gregor', body: { create: { after: { category: 'c' } } } });
    await until(
      'the client is back with the new item',
      () => client.connection === 'connected' && client.get('after') !== undefined,
    );
    expect(tokens).toBe(2);
    await client.close();
  });

  it('out-of-band messages and flush reach the app as events', async () => {
    const client = testClient(server, 'events', 'd');
    await client.ready();
    const seen: string[] = [];
    client.on('message', ({ system }) => seen.push(system));
    client.on('flush', () => seen.push('flush'));
    await server.inject('events', { system: 'kbfs.favorites', body: { action: 'delete' } });
    await fetch(`${server.url}/v1/users/events/flush`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.serviceToken()}` },
    });
    await until('both events arrived', () => seen.length === 2);
    expect(seen).toEqual(['kbfs.favorites', 'flush']);
    await client.close();
  });

  it('an item leaves the client at its expiry time without any message', async () => {
    const client = testClient(server, 'expiry', 'd');
    await client.ready();
    await client.create('soon', { category: 'c', times: { expires: '+400ms' } });
    expect(client.get('soon')).toBeDefined();
    const gone = new Promise<string>((resolve) => client.on('dismissed', ({ id }) => resolve(id)));
    expect(await gone).toBe('soon');
    await client.close();
  });
});

describe('full-jitter backoff', () => {
  it('waits at most min·2^n, capped at max, and starts over after a reset', () => {
    const b = new Backoff(100, 1000);
    const ceilings = [100, 200, 400, 800, 1000, 1000];
    for (const ceiling of ceilings) {
      const wait = b.next();
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(100);
  });
});
