import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../client/support.js';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer, USER_SECRET } from '../support/server.js';
import {
  COOKIE_AUTH,
  fresh,
  mint,
  NotifyClient,
  numsub,
  ORIGIN,
  payloadWith,
  redisCli,
  requireRedis,
  startNotifyServer,
} from './support.js';

const up = await requireRedis('Notify sockets');
const EVIL = 'https://evil.example';

describe.skipIf(!up)('/notify/ws: topics, Origin, and a plain GET, as Notify clients use them', () => {
  let server: TestServer;
  let notifyWs: string;
  const token = (id: string) => mint(payloadWith(JSON.stringify(id)), USER_SECRET);

  beforeAll(async () => {
    ({ server, notifyWs } = await startNotifyServer(COOKIE_AUTH));
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('?topic= splits on commas and whitespace (Go strings.Fields); only the first topic value counts', async () => {
    const t = fresh('t');
    const names = [`${t}a`, `${t}b`, `${t}c`, `${t}d`];
    const topic = encodeURIComponent(`${names[0]}, ${names[1]}\t${names[2]},,${names[3]}`);
    const client = new NotifyClient(
      `${notifyWs}?authorization=${token(fresh('u'))}&topic=${topic}&topic=${t}x`,
    );
    await client.ready();
    for (const name of names) expect(await numsub(`notify_topic:${name}`)).toBe(1);
    expect(await numsub(`notify_topic:${t}x`)).toBe(0);
    await redisCli('PUBLISH', `notify_topic:${names[2]}`, 'on c');
    expect(await client.frame(2)).toBe('on c');
    await client.close();
  });

  it("topics split on Go's Unicode whitespace (U+0085, U+3000), not on what Go does not count (U+FEFF)", async () => {
    const t = fresh('t');
    const topic = encodeURIComponent(`${t}a\u0085${t}b\u3000${t}c\uFEFF${t}d`);
    const client = new NotifyClient(`${notifyWs}?authorization=${token(fresh('u'))}&topic=${topic}`);
    await client.ready();
    expect(await numsub(`notify_topic:${t}a`)).toBe(1);
    expect(await numsub(`notify_topic:${t}b`)).toBe(1);
    expect(await numsub(`notify_topic:${t}c\uFEFF${t}d`)).toBe(1);
    expect(await numsub(`notify_topic:${t}c`)).toBe(0);
    await client.close();
  });

  it('client frames are read and ignored: the socket stays open and still gets publications, as text frames', async () => {
    const id = fresh('u');
    const client = new NotifyClient(`${notifyWs}?authorization=${token(id)}`);
    await client.ready();
    client.socket.send('hello');
    client.socket.send('{"kind":"subscribe","topic":"x"}');
    client.socket.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    client.socket.send('');
    await redisCli('PUBLISH', `notify:${id}`, 'after the client frames');
    expect(await client.frame(2)).toBe('after the client frames');
    expect(client.binary).toEqual([false, false, false]);
    expect(client.frames).toHaveLength(3);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    await client.close();
  });

  it('a client frame over max-message-bytes closes the socket with 1009 (Notify had no limit)', async () => {
    const client = new NotifyClient(`${notifyWs}?authorization=${token(fresh('u'))}`);
    await client.ready();
    client.socket.send('x'.repeat(1024 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
  });

  it('an empty session cookie is the token, as in Notify: it wins over a good header token and fails', async () => {
    const client = new NotifyClient(notifyWs, {
      cookie: 'sid=',
      origin: ORIGIN,
      authorization: `Bearer ${token(fresh('u'))}`,
    });
    expect(((await client.json(0)) as { error: { code: string } }).error.code).toBe(
      'GREGOR_ERR_AUTH_REQUIRED',
    );
    expect((await client.closed).code).toBe(4500);
  });

  it('a Topic: header overrides ?topic=, as in Notify', async () => {
    const t = fresh('t');
    const client = new NotifyClient(`${notifyWs}?topic=${t}query`, {
      authorization: `Bearer ${token(fresh('u'))}`,
      topic: `${t}h1,${t}h2`,
    });
    await client.ready();
    expect(await numsub(`notify_topic:${t}h1`)).toBe(1);
    expect(await numsub(`notify_topic:${t}h2`)).toBe(1);
    expect(await numsub(`notify_topic:${t}query`)).toBe(0);
    await client.close();
  });

  it('of repeated Topic: headers only the first counts, as Go reads them', async () => {
    const t = fresh('t');
    const client = new NotifyClient(notifyWs, {
      authorization: `Bearer ${token(fresh('u'))}`,
      // Sent as two header lines (Node writes an array value once per element).
      topic: [`${t}first`, `${t}second`] as unknown as string,
    });
    await client.ready();
    expect(await numsub(`notify_topic:${t}first`)).toBe(1);
    expect(await numsub(`notify_topic:${t}second`)).toBe(0);
    await client.close();
  });

  it('topics over the limits are not subscribed and an error frame says so after the state frame; the rest work', async () => {
    const id = fresh('u');
    const t = fresh('t');
    const many = Array.from({ length: 18 }, (_, i) => `${t}-${i}`);
    const long = `${t}-${'x'.repeat(200)}`;
    const refused = async () =>
      (await server.gregord.metrics.notifyTopicsRefused.get()).values[0]?.value ?? 0;
    const before = await refused();
    const client = new NotifyClient(
      `${notifyWs}?authorization=${token(id)}&topic=${[long, ...many].join(',')}`,
    );
    expect(await client.json(0)).toEqual({ kind: 'connect', userID: id });
    expect(await client.json(1)).toMatchObject({ kind: 'state' });
    expect(await client.json(2)).toEqual({
      error: {
        message: expect.stringMatching(/3 topic\(s\) not subscribed/),
        code: 'GREGOR_ERR_INVALID_ARGUMENT',
      },
    });
    expect(await numsub(`notify_topic:${many[15]}`)).toBe(1);
    expect(await numsub(`notify_topic:${many[16]}`)).toBe(0);
    expect(await numsub(`notify_topic:${long}`)).toBe(0);
    expect((await refused()) - before).toBe(3);
    await redisCli('PUBLISH', `notify:${id}`, 'still open');
    expect(await client.frame(3)).toBe('still open');
    await client.close();
  });

  it('Origin is checked only where a cookie authenticates and an Origin is sent', async () => {
    const id = fresh('u');
    const cases: [string, Record<string, string>, string, boolean][] = [
      ['cookie, allowed Origin', { cookie: `sid=${token(id)}`, origin: ORIGIN }, '', true],
      ['cookie, other Origin', { cookie: `sid=${token(id)}`, origin: EVIL }, '', false],
      ['cookie, no Origin (a server-side client)', { cookie: `sid=${token(id)}` }, '', true],
      ['header token, other Origin', { authorization: `Bearer ${token(id)}`, origin: EVIL }, '', true],
      ['?authorization=, other Origin', { origin: EVIL }, `?authorization=${token(id)}`, true],
    ];
    for (const [what, headers, query, ok] of cases) {
      const client = new NotifyClient(`${notifyWs}${query}`, headers);
      if (ok) {
        expect(await client.json(0), what).toEqual({ kind: 'connect', userID: id });
        await client.close();
      } else expect(await client.refused, what).toBe(403);
    }
  });

  it('the same Origin rule on /v1/ws', async () => {
    const t = await server.userToken('alice');
    const open = async (headers: Record<string, string>) => {
      const d = new TestDevice(`${server.ws}?device=d${fresh()}`, { headers });
      try {
        await d.opened;
        await d.type('hello');
        return 'open';
      } catch (e) {
        return (e as Error).message;
      } finally {
        d.socket.close();
      }
    };
    expect(await open({ authorization: `Bearer ${t}`, origin: EVIL })).toBe('open');
    expect(await open({ cookie: `sid=${t}` })).toBe('open');
    expect(await open({ cookie: `sid=${t}`, origin: ORIGIN })).toBe('open');
    expect(await open({ cookie: `sid=${t}`, origin: EVIL })).toBe('HTTP 403');
  });

  it('connect and state frames are written as Go writes them: keys sorted by bytes, <>& escaped', async () => {
    const id = `${fresh('u')}<&>`;
    await redisCli(
      'HSET',
      `notify:${id}:state`,
      'b',
      '1',
      'a',
      '<&>',
      '9',
      '1',
      '10',
      '1',
      'é',
      '1',
      'z',
      '1',
    );
    try {
      const client = new NotifyClient(notifyWs, { authorization: `Bearer ${token(id)}` });
      const escaped = id.replace('<&>', '\\u003c\\u0026\\u003e');
      expect(await client.frame(0)).toBe(`{"kind":"connect","userID":"${escaped}"}`);
      expect(await client.frame(1)).toBe(
        '{"kind":"state","state":{"10":"1","9":"1","a":"\\u003c\\u0026\\u003e","b":"1","z":"1","é":"1"}}',
      );
      await client.close();
    } finally {
      await redisCli('DEL', `notify:${id}:state`);
    }
  });

  it('GET /notify/ws without an upgrade answers 400, as Notify', async () => {
    const response = await fetch(`${server.url}/notify/ws`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'GREGOR_ERR_BAD_REQUEST' });
  });

  it('a failed login subscribes nothing', async () => {
    const client = new NotifyClient(notifyWs, { authorization: 'Bearer nope' });
    expect((await client.closed).code).toBe(4500);
    await until('nothing is subscribed to notify:', async () => (await numsub('notify:')) === 0);
  });
});

describe('without Redis, /notify/ws is no HTTP route', () => {
  it('GET /notify/ws answers 404', async () => {
    const server = await startTestServer();
    try {
      expect((await fetch(`${server.url}/notify/ws`)).status).toBe(404);
    } finally {
      await server.cleanup();
    }
  });
});
