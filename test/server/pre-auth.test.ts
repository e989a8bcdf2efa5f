import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { TestDevice } from '../support/device.js';
import { rawRequest, rawSocket, upgradeOn, upgradeRequest } from '../support/raw-http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Everything an unauthenticated client can send before its token is checked. */
describe('before authentication', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(['--auth-cookie', 'session', '--allowed-origins', 'http://app.test']);
  });
  afterAll(async () => {
    await server.cleanup();
  });

  async function alive(): Promise<void> {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }

  it('an upgrade with an unparsable target is refused and the server lives', async () => {
    for (const target of ['http://[/', 'http://[::1', '//%zz', 'http://a b/']) {
      const answer = await rawRequest(server.port, upgradeRequest(target));
      expect(answer.status, target).toBe(400);
      expect(answer.body?.code, target).toMatch(/^GREGOR_ERR_/);
    }
    await alive();
  });

  it('an auth cookie that is not valid percent-encoding is refused as a token and the server lives', async () => {
    for (const cookie of ['session=%zz', 'session=%', 'session=%E0%A4%A', 'other=%; session=%%']) {
      const d = new TestDevice(server.ws, { headers: { cookie, origin: 'http://app.test' } });
      const error = await d.type('error');
      expect(error.code, cookie).toBe('GREGOR_ERR_AUTH_INVALID');
      expect((await d.closed).code).toBe(CLOSE.UNAUTHORIZED);
    }
    await alive();
  });
});

describe('the pre-authentication budget', () => {
  let server: TestServer;
  const held: Socket[] = [];
  beforeAll(async () => {
    server = await startTestServer([
      '--max-connections',
      '2',
      '--max-pending-auth',
      '8',
      '--max-pending-auth-per-address',
      '3',
      '--auth-timeout-ms',
      '60s',
    ]);
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await server.cleanup();
  });

  async function silent(localAddress: string): Promise<number> {
    const socket = await rawSocket(server.port, localAddress);
    held.push(socket);
    return upgradeOn(socket);
  }

  it('silent sockets from one address are limited, and never keep a real user out', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await silent('127.0.0.2'));
    expect(statuses).toEqual([101, 101, 101, 429, 429, 429]);
    // max-connections is 2 and three silent sockets are open: a real user still gets in.
    const token = await server.userToken('budget-user', 'phone');
    const d = new TestDevice(`${server.ws}?device=phone`, { token });
    expect((await d.type('hello')).uid).toBe('budget-user');
    await d.close();
  });

  it('the whole budget is bounded too, and places come back when sockets close', async () => {
    for (const address of ['127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < 3; i++) await silent(address);
    }
    // 3 + 3 + 3 silent sockets against a budget of 8: the ninth is refused.
    expect(await silent('127.0.0.5')).toBe(503);
    for (const s of held.splice(0)) s.destroy();
    await expect.poll(() => silent('127.0.0.5'), { timeout: 10_000 }).toBe(101);
  });

  it('a refused upgrade is closed by the server, and holds no place, even when the client keeps its side open', async () => {
    const refused: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await rawSocket(server.port, '127.0.0.6');
      socket.allowHalfOpen = true;
      socket.resume();
      // The client keeps its side open: only the server closing its own socket frees the place.
      const answered = new Promise<void>((resolve) => socket.once('end', () => resolve()));
      socket.write(upgradeRequest('/v1/ws', ['Sec-WebSocket-Version: 7']));
      await answered;
      refused.push(socket);
    }
    // Four refusals from an address allowed three places: had they kept places, this would be 429.
    await expect.poll(() => silent('127.0.0.6'), { timeout: 10_000 }).toBe(101);
    for (const s of refused) s.destroy();
  });
});

describe('max-connections', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(['--max-connections', '1']);
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('counts devices when they authenticate, so sockets that connected first cannot all get in', async () => {
    const sockets = ['u0', 'u1'].map(() => new TestDevice(server.ws));
    await Promise.all(sockets.map((d) => d.opened));
    sockets[0]!.send({ type: 'auth', token: await server.userToken('u0', 'd') });
    expect((await sockets[0]!.type('hello')).uid).toBe('u0');
    sockets[1]!.send({ type: 'auth', token: await server.userToken('u1', 'd') });
    expect((await sockets[1]!.type('error')).code).toBe('GREGOR_ERR_TOO_MANY_CONNECTIONS');
    expect((await sockets[1]!.closed).code).toBe(CLOSE.TOO_MANY_CONNECTIONS);
    // The place comes back when the first device leaves.
    await sockets[0]!.close();
    const again = new TestDevice(`${server.ws}?device=d`, { token: await server.userToken('u1', 'd') });
    await expect.poll(async () => (await again.type('hello')).uid, { timeout: 10_000 }).toBe('u1');
    await again.close();
  });
});
