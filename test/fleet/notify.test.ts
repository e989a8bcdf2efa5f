import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testClient, until } from '../client/support.js';
import { REDIS_URL, redisCommand, requireRedis } from '../support/redis.js';
import { startTestServer, type TestServer, USER_SECRET } from '../support/server.js';

const up = await requireRedis('Notify compatibility');
const ORIGIN = 'https://app.example';

/** A Notify-style token: HS256 with a `user_id` claim (string or number). */
function notifyToken(userId: string | number, secret = USER_SECRET): Promise<string> {
  return new SignJWT({ user_id: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
}

/** Notify's keys are fixed (`notify:<uid>`): a random numeric uid (a safe integer) per test. */
const randomUid = () => String(randomInt(1, 2 ** 47));

/** A Notify client: records text frames (raw) and how the socket closed. */
class NotifyClient {
  readonly frames: string[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly refused: Promise<number>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data) => this.frames.push(data.toString()));
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.refused = new Promise((resolve) =>
      this.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    this.socket.on('error', () => {});
  }

  /** Waits for the n-th frame (0-based). */
  async frame(n: number): Promise<string> {
    await until(
      `frame ${n} arrives (got ${JSON.stringify(this.frames)})`,
      () => this.frames.length > n,
      5000,
    );
    return this.frames[n]!;
  }

  json(n: number): Promise<unknown> {
    return this.frame(n).then((f) => JSON.parse(f));
  }
}

describe.skipIf(!up)('Notify compatibility: /notify/ws and the Twirp Auth method', () => {
  let server: TestServer;
  let notifyWs: string;

  beforeAll(async () => {
    server = await startTestServer([
      '--redis-url',
      REDIS_URL,
      '--redis-prefix',
      `gregor-test-${randomBytes(4).toString('hex')}:`,
      '--auth-cookie',
      'sid',
      '--allowed-origins',
      ORIGIN,
    ]);
    notifyWs = `${server.url.replace(/^http/, 'ws')}/notify/ws`;
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  for (const kind of ['numeric', 'string'] as const) {
    it(`connect, state, then raw payloads (user_id ${kind}, header token)`, async () => {
      const uid = randomUid();
      await redisCommand('HSET', `notify:${uid}:state`, 'unread_messages', '1');
      const token = await notifyToken(kind === 'numeric' ? Number(uid) : uid);
      const client = new NotifyClient(notifyWs, { authorization: `Bearer ${token}` });
      expect(await client.json(0)).toEqual({ kind: 'connect', userID: uid });
      expect(await client.json(1)).toEqual({ kind: 'state', state: { unread_messages: '1' } });
      await redisCommand('PUBLISH', `notify:${uid}`, '{"x":1}');
      expect(await client.frame(2)).toBe('{"x":1}');
      // Published by the real redis-cli, as a Notify backend does; forwarded byte for byte.
      await promisify(execFile)('redis-cli', ['-u', REDIS_URL, 'PUBLISH', `notify:${uid}`, 'plain text']);
      expect(await client.frame(3)).toBe('plain text');
      client.socket.close();
      await client.closed;
      await redisCommand('DEL', `notify:${uid}:state`);
    });
  }

  it('takes the token from ?authorization= and subscribes ?topic= channels; state is {} without a key', async () => {
    const uid = randomUid();
    const topic = `t${randomUid()}`;
    const token = await notifyToken(uid);
    const client = new NotifyClient(`${notifyWs}?authorization=${token}&topic=${topic},other${topic}`);
    expect(await client.json(0)).toEqual({ kind: 'connect', userID: uid });
    expect(await client.json(1)).toEqual({ kind: 'state', state: {} });
    await redisCommand('PUBLISH', `notify_topic:${topic}`, '{"topic":true}');
    expect(await client.json(2)).toEqual({ topic: true });
    client.socket.close();
    await client.closed;
  });

  it('one shared subscription per channel: many sockets of a user cost one SUBSCRIBE, released after the last', async () => {
    const uid = randomUid();
    const token = await notifyToken(uid);
    const clients = Array.from({ length: 5 }, () => new NotifyClient(notifyWs, { authorization: token }));
    for (const c of clients) await c.frame(1);
    expect(await redisCommand('PUBSUB', 'NUMSUB', `notify:${uid}`)).toEqual([`notify:${uid}`, 1]);
    await redisCommand('PUBLISH', `notify:${uid}`, 'all');
    for (const c of clients) expect(await c.frame(2)).toBe('all');
    for (const c of clients) c.socket.close();
    await Promise.all(clients.map((c) => c.closed));
    await until('the channel is released', async () => {
      const [, n] = (await redisCommand('PUBSUB', 'NUMSUB', `notify:${uid}`)) as [string, number];
      return n === 0;
    });
  });

  it('a failed login gets an error frame (no stack trace) and a close, and subscribes nothing', async () => {
    const client = new NotifyClient(notifyWs, { authorization: await notifyToken('9', 'x'.repeat(40)) });
    const frame = (await client.json(0)) as { error: { message: string; code: string } };
    expect(frame.error.code).toBe('GREGOR_ERR_AUTH_INVALID');
    expect(frame.error.message).not.toMatch(/\n|at .*\.(ts|js)/);
    expect((await client.closed).code).toBe(4500);

    const none = new NotifyClient(notifyWs);
    expect(((await none.json(0)) as { error: { code: string } }).error.code).toBe('GREGOR_ERR_AUTH_REQUIRED');
    expect((await none.closed).code).toBe(4500);
    expect(await redisCommand('PUBSUB', 'NUMSUB', 'notify:')).toEqual(['notify:', 0]);
  });

  it('cookie auth: an allowed Origin connects, any other Origin is refused before the upgrade', async () => {
    const uid = randomUid();
    const cookie = `sid=${await notifyToken(uid)}`;
    const good = new NotifyClient(notifyWs, { cookie, origin: ORIGIN });
    expect(await good.json(0)).toEqual({ kind: 'connect', userID: uid });
    good.socket.close();
    const evil = new NotifyClient(notifyWs, { cookie, origin: 'https://evil.example' });
    expect(await evil.refused).toBe(403);
  });

  it('Twirp Auth answers userID for a good token and a Twirp error for a bad one', async () => {
    const url = `${server.url}/twirp/notify.NotifyService/Auth`;
    const post = (body: string, type = 'application/json') =>
      fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
    const ok = await post(JSON.stringify({ authorization: `Bearer ${await notifyToken(42)}` }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ userID: '42' });

    const bad = await post(JSON.stringify({ authorization: 'not-a-jwt' }));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ code: 'unauthenticated', msg: expect.any(String) });

    const proto = await post('\n\u0001x', 'text/plain');
    expect(proto.status).toBe(404);
    expect(await proto.json()).toMatchObject({ code: 'bad_route' });

    const broken = await post('{');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: 'malformed' });
  });

  it('PUBLISH notify:<uid> reaches the Gregor SDK clients of that user as an out-of-band notify message', async () => {
    const uid = `n${randomUid()}`;
    const client = testClient(server, uid, 'phone');
    const received: { system: string; body: unknown }[] = [];
    client.on('message', (m) => received.push(m));
    await client.ready();
    await redisCommand('PUBLISH', `notify:${uid}`, '{"x":1}');
    await redisCommand('PUBLISH', `notify:${uid}`, '{"x":1}');
    await redisCommand('PUBLISH', `notify:${uid}`, 'not json');
    await until('three notify messages arrive', () => received.length >= 3);
    expect(received).toEqual([
      { system: 'notify', body: { x: 1 } },
      { system: 'notify', body: { x: 1 } },
      { system: 'notify', body: 'not json' },
    ]);
    await client.close();
    await until('the user channel is released', async () => {
      const [, n] = (await redisCommand('PUBSUB', 'NUMSUB', `notify:${uid}`)) as [string, number];
      return n === 0;
    });
  });
});

describe('Notify compatibility without Redis', () => {
  it('/notify/ws answers 503 with a coded error', async () => {
    const server = await startTestServer();
    try {
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/notify/ws`);
      const status = await new Promise<number>((resolve) => {
        socket.on('error', () => {});
        socket.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => {
            expect(JSON.parse(body)).toMatchObject({ code: 'GREGOR_ERR_NOT_READY' });
            resolve(res.statusCode ?? 0);
          });
        });
      });
      expect(status).toBe(503);
    } finally {
      await server.cleanup();
    }
  });
});
