import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let auth: Record<string, string>;
beforeAll(async () => {
  server = await startTestServer();
  auth = { authorization: `Bearer ${await server.serviceToken()}` };
});
afterAll(async () => {
  await server.cleanup();
});

async function get(path: string, headers = auth) {
  const r = await fetch(`${server.url}${path}`, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('the HTTP API', () => {
  it("injects a message in the seed's format and returns the seed's blob", async () => {
    const item = {
      times: { created: 1457056447, expires: 4102444800, remind_at: [1457402098] },
      for_device: null,
      category: 'user.joined',
      body: { keybase: 'kbob' },
    };
    const r = await server.inject('api', {
      system: 'gregor',
      body: { create: { '5d44d2ad9aabab30': item }, dismiss: {} },
    });
    expect(r).toMatchObject({ status: 200, body: { seq: 1, status: 'stored' } });
    const now = await get('/v1/users/api/state');
    expect(now.body).toMatchObject({ uid: 'api', at: null, cursor: 1 });
    expect(now.body.items).toEqual({ '5d44d2ad9aabab30': item });
    // Time travel is by ctime, the moment the server accepted the message: an hour ago it was not there.
    expect((await get('/v1/users/api/state?at=-1h')).body.items).toEqual({});
  });

  it('reads messages after a cursor and since a time, for a device', async () => {
    await server.inject('log', {
      id: 'a',
      system: 'gregor',
      body: { create: { x: { category: 'c', for_device: 'phone' } } },
    });
    await server.inject('log', { id: 'b', system: 'gregor', body: { create: { y: { category: 'c' } } } });
    const all = await get('/v1/users/log/messages?after=0');
    expect(all.body).toMatchObject({ cursor: 2, truncated: false });
    expect((all.body.messages as { id: string; seq: number }[]).map((m) => [m.id, m.seq])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    const laptop = await get('/v1/users/log/messages?after=0&device=laptop');
    expect((laptop.body.messages as { id: string }[]).map((m) => m.id)).toEqual(['b']);
    const page = await get('/v1/users/log/messages?after=0&limit=1');
    expect(page.body.truncated).toBe(true);
    const since = await get('/v1/users/log/messages?since=-1h');
    expect((since.body.messages as unknown[]).length).toBe(2);
  });

  it('lists the devices connected to the node', async () => {
    const { device } = await connectDevice(server.ws, await server.userToken('listed'), 'tablet');
    const r = await get('/v1/users/listed/devices');
    expect((r.body.devices as { device: string }[]).map((d) => d.device)).toEqual(['tablet']);
    await device.close();
  });

  it('answers malformed requests with coded errors', async () => {
    expect(await get('/v1/users/a%20b/state')).toMatchObject({
      status: 400,
      body: { code: 'GREGOR_ERR_INVALID_ARGUMENT' },
    });
    expect(await get('/v1/users/x/state?at=soon')).toMatchObject({
      status: 400,
      body: { code: 'GREGOR_ERR_INVALID_TIME' },
    });
    expect(await get('/v1/users/x/messages?after=-1')).toMatchObject({
      status: 400,
      body: { code: 'GREGOR_ERR_INVALID_ARGUMENT' },
    });
    expect(await get('/nope')).toMatchObject({ status: 404, body: { code: 'GREGOR_ERR_NOT_FOUND' } });
    const bad = await fetch(`${server.url}/v1/users/x/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"system":',
    });
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'GREGOR_ERR_BAD_JSON']);
  });

  it('checks the token before it reads a body: a refused caller gets 401 or 403, whatever it sent', async () => {
    const post = async (headers: Record<string, string>, body: string) => {
      const r = await fetch(`${server.url}/v1/users/x/messages`, { method: 'POST', headers, body });
      return [r.status, ((await r.json()) as { code: string }).code];
    };
    expect(await post({ 'content-type': 'application/json' }, '{"system":')).toEqual([
      401,
      'GREGOR_ERR_AUTH_REQUIRED',
    ]);
    const other = { authorization: `Bearer ${await server.userToken('y')}` };
    expect(await post({ ...other, 'content-type': 'text/plain' }, 'hi')).toEqual([
      403,
      'GREGOR_ERR_FORBIDDEN',
    ]);
  });

  it('serves health, readiness, metrics and OpenAPI without a token', async () => {
    expect(await get('/healthz', {})).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz', {})).toMatchObject({ status: 200, body: { status: 'ready' } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('gregor_messages_in_total');
    expect(metrics).toContain('gregor_connections');
    const openapi = await get('/openapi.json', {});
    expect(Object.keys(openapi.body.paths as object)).toContain('/v1/users/{uid}/messages');
  });
});
