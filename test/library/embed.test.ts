import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { buildApp as buildExpressApp } from '../../examples/express-app.js';
import { buildApp as buildFastifyApp } from '../../examples/fastify-app.js';
import { makeToken } from '../../src/cli/tokens.js';
import { until } from '../client/support.js';
import { connectDevice, type Frame, TestDevice } from '../support/device.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';

const keys = { jwtSecret: USER_SECRET, serviceSecret: SERVICE_SECRET };
const userToken = (uid: string) => makeToken({ secret: USER_SECRET, uid, ttlSeconds: 600 });
const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 600 });

async function inject(url: string, uid: string, id: string): Promise<Response> {
  return fetch(`${url}/v1/users/${uid}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ system: 'gregor', body: { create: { [id]: { category: 'c' } } } }),
  });
}

/** The item IDs a message frame creates. */
const created = (frame: Frame) =>
  Object.keys((frame.message as { body: { create?: object } }).body.create ?? {});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('mounted into an app that has its own Fastify routes (examples/fastify-app.ts)', () => {
  it("serves the app's routes and Gregor's, and devices on the app's port get messages", async () => {
    const { app, undelivered } = await buildFastifyApp(keys);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());

    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ hello: 'from the app' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const { device } = await connectDevice(
      `${url.replace('http', 'ws')}/v1/ws`,
      await userToken('ann'),
      'phone',
    );
    const r = await inject(url, 'ann', 'hi');
    expect(r.status).toBe(200);
    expect(created(await device.type('message'))).toEqual(['hi']);
    // The example's extension: a message for a user with no device reached nobody.
    const lonely = await inject(url, 'bob', 'nobody-home');
    const { msg_id } = (await lonely.json()) as { msg_id: string };
    await until('onUndelivered saw the message', () => undelivered.includes(msg_id));
    expect(undelivered).toEqual([msg_id]);
    await device.close();
  });

  it('closing the app shuts Gregor down gracefully: devices are told to reconnect', async () => {
    const { app } = await buildFastifyApp(keys);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const { device } = await connectDevice(
      `${url.replace('http', 'ws')}/v1/ws`,
      await userToken('ann'),
      'phone',
    );
    await app.close();
    expect((await device.closed).code).toBe(4000);
  });

  it('mounts under a prefix inside another prefix: routes and sockets share the whole path', async () => {
    const { createGregor } = await import('../../src/server/index.js');
    const Fastify = (await import('fastify')).default;
    const gregor = await createGregor({ settings: { storage: 'memory', logLevel: 'silent', ...keys } });
    const app = Fastify();
    await app.register(async (api) => api.register(gregor.plugin, { prefix: '/gregor' }), { prefix: '/api' });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const base = `${url}/api/gregor`;
    const { device } = await connectDevice(`${base.replace('http', 'ws')}/v1/ws`, await userToken('ed'), 'd');
    expect((await inject(base, 'ed', 'nested')).status).toBe(200);
    expect(created(await device.type('message'))).toEqual(['nested']);
    await device.close();
  });

  it('mounts under a prefix: routes and sockets move, the app keeps the rest', async () => {
    const { createGregor } = await import('../../src/server/index.js');
    const Fastify = (await import('fastify')).default;
    const gregor = await createGregor({ settings: { storage: 'memory', logLevel: 'silent', ...keys } });
    const app = Fastify();
    app.get('/healthz', async () => ({ app: true }));
    await app.register(gregor.plugin, { prefix: '/gregor' });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ app: true });
    expect(await (await fetch(`${url}/gregor/healthz`)).json()).toEqual({ status: 'ok' });
    const { device } = await connectDevice(
      `${url.replace('http', 'ws')}/gregor/v1/ws`,
      await userToken('cy'),
      'd',
    );
    expect((await inject(`${url}/gregor`, 'cy', 'x')).status).toBe(200);
    expect(created(await device.type('message'))).toEqual(['x']);
    await device.close();
  });
});

describe('attached to an Express app on a node:http server (examples/express-app.ts)', () => {
  async function start() {
    const { server, gregor } = await buildExpressApp(keys);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await gregor.close();
      await new Promise((resolve) => server.close(resolve));
    });
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it("serves Express's routes and Gregor's, and passes unknown paths on to Express", async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ hello: 'from express' });
    // The app's own body is the app's: Gregor hands the request on before reading it.
    const echo = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'app' }),
    });
    expect(await echo.json()).toEqual({ echo: { hello: 'app' } });
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found by express' });
    const { device } = await connectDevice(
      `${url.replace('http', 'ws')}/v1/ws`,
      await userToken('dee'),
      'tab',
    );
    const r = await inject(url, 'dee', 'from-express');
    expect(await r.json()).toMatchObject({ status: 'stored', seq: 1 });
    expect(created(await device.type('message'))).toEqual(['from-express']);
    // Gregor's refusals keep their codes inside someone else's app.
    const refused = await fetch(`${url}/v1/users/dee/state`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'GREGOR_ERR_AUTH_REQUIRED' });
    // Routed like on Gregor's own server: the longest legal user ID, and a coded refusal past it.
    expect((await inject(url, 'u'.repeat(128), 'long')).status).toBe(200);
    const tooLong = await inject(url, 'u'.repeat(300), 'long');
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 'GREGOR_ERR_INVALID_ARGUMENT' });
    await device.close();
  });

  it('refuses an upgrade to another path when the app has no WebSocket server of its own', async () => {
    const { url } = await start();
    const other = new TestDevice(`${url.replace('http', 'ws')}/app-socket`);
    await expect(other.opened).rejects.toThrow('HTTP 404');
  });

  it("leaves upgrades to other paths to the app's own WebSocket server", async () => {
    const { server, url } = await start();
    const own = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/app-socket') own.handleUpgrade(req, socket, head, (ws) => ws.send('app says hi'));
    });
    const theirs = new TestDevice(`${url.replace('http', 'ws')}/app-socket`);
    const text = await new Promise<string>((resolve) =>
      theirs.socket.once('message', (d) => resolve(String(d))),
    );
    expect(text).toBe('app says hi');
    theirs.socket.close();
    own.close();
  });
});
