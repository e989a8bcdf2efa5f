import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, USER_SECRET } from '../support/server.js';
import { type Alg, mint, REDIS_URL, requireRedis } from './support.js';

/** Notify's rpc/notify/notify.proto, read by protobufjs: the client side is not our code. */
const proto = protobuf.parse(`
  syntax = "proto3";
  package notify;
  message AuthRequest { string authorization = 1; }
  message AuthResponse { string userID = 1; }
`).root;
const AuthRequest = proto.lookupType('notify.AuthRequest');
const AuthResponse = proto.lookupType('notify.AuthResponse');

/** A token as Notify's issuers sign it: HMAC over a hand-written payload (literals kept as written). */
const notifyToken = (payload: string, alg?: Alg) => mint(payload, USER_SECRET, alg);
const exp = () => Math.floor(Date.now() / 1000) + 600;

const up = await requireRedis('the Notify Twirp method');

describe.skipIf(!up)('Twirp NotifyService.Auth, as Notify clients call it', () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer([
      '--redis-url',
      REDIS_URL,
      '--auth-cookie',
      'session',
      '--allowed-origins',
      'https://app.example',
    ]);
    url = `${server.url}/twirp/notify.NotifyService/Auth`;
  });
  afterAll(() => server?.cleanup());

  const post = (body: string | Uint8Array, type: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
  const protobufRequest = (authorization: string) =>
    Buffer.from(AuthRequest.encode(AuthRequest.create({ authorization })).finish());
  const userIdOf = async (r: Response) =>
    (AuthResponse.decode(new Uint8Array(await r.arrayBuffer())) as unknown as { userID: string }).userID;

  it('answers in JSON, with a Bearer token of each HMAC algorithm', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const token = notifyToken(`{"user_id":42,"exp":${exp()}}`, alg);
      const r = await post(JSON.stringify({ authorization: `Bearer ${token}` }), 'application/json');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await r.json()).toEqual({ userID: '42' });
    }
  });

  it('answers in protobuf to a protobuf request, encoded and decoded by protobufjs', async () => {
    const token = notifyToken(`{"user_id":"7","exp":${exp()}}`, 'HS512');
    const r = await post(protobufRequest(`Bearer ${token}`), 'application/protobuf');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/protobuf');
    expect(await userIdOf(r)).toBe('7');
  });

  it('reads a protobuf request with unknown fields around the token, as any encoder may write it', async () => {
    const token = notifyToken(`{"user_id":"7","exp":${exp()}}`);
    const writer = protobuf.Writer.create();
    writer.uint32((9 << 3) | 0).uint64(123); // an unknown varint field
    writer.uint32((1 << 3) | 2).string(token);
    writer.uint32((8 << 3) | 2).bytes(Buffer.from('later field'));
    writer.uint32((7 << 3) | 5).fixed32(5);
    const r = await post(Buffer.from(writer.finish()), 'application/protobuf');
    expect(r.status).toBe(200);
    expect(await userIdOf(r)).toBe('7');
  });

  it('refuses a malformed protobuf body with Twirp malformed (400), and a missing token with unauthenticated', async () => {
    const truncated = protobufRequest('Bearer abc').subarray(0, 4);
    const bad = await post(truncated, 'application/protobuf');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: 'malformed',
      meta: { gregor_code: 'GREGOR_ERR_BAD_REQUEST' },
    });
    const empty = await post(new Uint8Array(0), 'application/protobuf');
    expect(empty.status).toBe(401);
    expect(await empty.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it('answers another Content-Type as Twirp does: 404 bad_route', async () => {
    const r = await post('authorization=x', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      code: 'bad_route',
      msg: 'unexpected Content-Type: "application/x-www-form-urlencoded"',
      meta: { gregor_code: 'GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE' },
    });
  });

  it("answers Notify's user ID verbatim: any string, and any other JSON literal as written", async () => {
    const cases: [string, string][] = [
      ['"ann@example.com"', 'ann@example.com'],
      ['"名前 with spaces/and slashes"', '名前 with spaces/and slashes'],
      ['12345678901234567890', '12345678901234567890'],
      ['42.0', '42.0'],
      ['1e3', '1e3'],
      [`"${'x'.repeat(300)}"`, 'x'.repeat(300)],
    ];
    for (const [literal, expected] of cases) {
      const token = notifyToken(`{"user_id":${literal},"exp":${exp()}}`);
      const json = await post(JSON.stringify({ authorization: token }), 'application/json');
      expect(await json.json()).toEqual({ userID: expected });
      expect(await userIdOf(await post(protobufRequest(token), 'application/protobuf'))).toBe(expected);
    }
  });

  it('ignores a device_id of any shape, as Notify does (7, "my phone")', async () => {
    for (const device of ['7', '"my phone"']) {
      const token = notifyToken(`{"user_id":"phone-owner","device_id":${device},"exp":${exp()}}`);
      const r = await post(JSON.stringify({ authorization: token }), 'application/json');
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ userID: 'phone-owner' });
      expect(await userIdOf(await post(protobufRequest(token), 'application/protobuf'))).toBe('phone-owner');
    }
  });

  it('takes the session cookie over the body, as Notify does', async () => {
    const body = notifyToken(`{"user_id":"from-body","exp":${exp()}}`);
    const cookie = notifyToken(`{"user_id":"from-cookie","exp":${exp()}}`);
    const r = await post(JSON.stringify({ authorization: body }), 'application/json', {
      cookie: `other=1; session=${cookie}`,
    });
    expect(await r.json()).toEqual({ userID: 'from-cookie' });
    const p = await post(protobufRequest(body), 'application/protobuf', { cookie: `session=${cookie}` });
    expect(await userIdOf(p)).toBe('from-cookie');
    // The cookie decides even when it is bad: Notify reads only the cookie when it is there.
    const refused = await post(JSON.stringify({ authorization: body }), 'application/json', {
      cookie: 'session=expired-or-forged',
    });
    expect(refused.status).toBe(401);
    // An empty cookie too: Notify takes it (and fails), as /notify/ws does.
    const empty = await post(JSON.stringify({ authorization: body }), 'application/json', {
      cookie: 'session=',
    });
    expect(empty.status).toBe(401);
    expect(await empty.json()).toMatchObject({ meta: { gregor_code: 'GREGOR_ERR_AUTH_REQUIRED' } });
  });

  it('answers a bad token with 401 unauthenticated (Notify: 500 internal), in JSON whatever the request encoding', async () => {
    const forged = `${notifyToken(`{"user_id":"x","exp":${exp()}}`).slice(0, -4)}AAAA`;
    for (const [body, type] of [
      [JSON.stringify({ authorization: forged }), 'application/json'],
      [protobufRequest(forged), 'application/protobuf'],
    ] as const) {
      const r = await post(body, type);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await r.json()).toMatchObject({
        code: 'unauthenticated',
        msg: expect.any(String),
        meta: { gregor_code: 'GREGOR_ERR_AUTH_INVALID' },
      });
    }
  });
});
