import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { type TestServer, USER_SECRET } from '../support/server.js';
import {
  type Alg,
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

const up = await requireRedis('Notify tokens');

/** Each kind of user_id a Notify issuer may put in a token: [JSON text, the ID Notify reads]. */
function userIds(): [string, string, string][] {
  const n = fresh();
  const email = `u${n}@b.com`;
  const long = `${n}-${'é/ x'.repeat(80)}`;
  return [
    ['a plain string', JSON.stringify(`u${n}`), `u${n}`],
    ['an e-mail address', JSON.stringify(email), email],
    ['spaces and slashes', JSON.stringify(`a b/${n}`), `a b/${n}`],
    ['non-ASCII', JSON.stringify(`Zoë ${n} 😀`), `Zoë ${n} 😀`],
    ['a 300+ character string', JSON.stringify(long), long],
    ['an integer', n, n],
    ['an integer above 2^53', `9${n}1234567`, `9${n}1234567`],
    ['42.0-style decimal', `${n}.0`, `${n}.0`],
    ['1e3-style exponent', `${n}e3`, `${n}e3`],
    ['true', 'true', 'true'],
    ['null', 'null', 'null'],
  ];
}

type Source = 'header' | 'query' | 'cookie';
const SOURCES: Source[] = ['header', 'query', 'cookie'];
const ALGS: Alg[] = ['HS256', 'HS384', 'HS512'];

describe.skipIf(!up)('Notify tokens on /notify/ws, as a Notify issuer mints them', () => {
  let server: TestServer;
  let notifyWs: string;

  /** Opens /notify/ws with the token where a Notify client would put it. */
  const open = (token: string, source: Source, extra: Record<string, string> = {}) => {
    if (source === 'query')
      return new NotifyClient(`${notifyWs}?authorization=${encodeURIComponent(`Bearer ${token}`)}`, extra);
    if (source === 'cookie')
      return new NotifyClient(notifyWs, { cookie: `sid=${token}`, origin: ORIGIN, ...extra });
    return new NotifyClient(notifyWs, { authorization: `Bearer ${token}`, ...extra });
  };

  beforeAll(async () => {
    ({ server, notifyWs } = await startNotifyServer(COOKIE_AUTH));
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  let round = 0;
  for (const [kind, ,] of userIds()) {
    it(`user_id as ${kind}: connect, state and raw payloads on Notify's keys, from each source and algorithm`, async () => {
      const [, json, id] = userIds().find(([k]) => k === kind)!;
      const field = `f${fresh()}`;
      await redisCli('HSET', `notify:${id}:state`, field, '1');
      try {
        for (const source of SOURCES) {
          const alg = ALGS[round++ % ALGS.length]!;
          const client = open(mint(payloadWith(json), USER_SECRET, alg), source);
          expect(await client.json(0)).toEqual({ kind: 'connect', userID: id });
          const state = (await client.json(1)) as { kind: string; state: Record<string, string> };
          expect(state.kind).toBe('state');
          expect(state.state[field]).toBe('1');
          const payload = `{"n":"${fresh()}","via":"${source}/${alg}"}`;
          await redisCli('PUBLISH', `notify:${id}`, payload);
          await client.frame(2);
          expect(client.frames).toContain(payload);
          await client.close();
        }
      } finally {
        await redisCli('HDEL', `notify:${id}:state`, field);
      }
    });
  }

  it('precedence as in Notify: the cookie wins, then the Authorization header, then ?authorization=', async () => {
    const [a, b, c] = [fresh('a'), fresh('b'), fresh('c')];
    const t = (id: string) => mint(payloadWith(JSON.stringify(id)), USER_SECRET);
    const query = `${notifyWs}?authorization=${t(c)}`;
    const all = new NotifyClient(query, {
      cookie: `sid=${t(a)}`,
      origin: ORIGIN,
      authorization: `Bearer ${t(b)}`,
    });
    const headerAndQuery = new NotifyClient(query, { authorization: `Bearer ${t(b)}` });
    const queryOnly = new NotifyClient(query);
    expect(await all.json(0)).toEqual({ kind: 'connect', userID: a });
    expect(await headerAndQuery.json(0)).toEqual({ kind: 'connect', userID: b });
    expect(await queryOnly.json(0)).toEqual({ kind: 'connect', userID: c });
    await Promise.all([all.close(), headerAndQuery.close(), queryOnly.close()]);
  });

  it('the Bearer prefix is case-sensitive, as in Notify: "bearer <token>" is refused', async () => {
    const client = new NotifyClient(notifyWs, {
      authorization: `bearer ${mint(payloadWith('"x"'), USER_SECRET)}`,
    });
    expect(((await client.json(0)) as { error: { code: string } }).error.code).toBe(
      'GREGOR_ERR_AUTH_INVALID',
    );
    expect((await client.closed).code).toBe(4500);
  });

  it("user_id's key is matched as Go does (USER_ID too, the last wins); an object or array is refused", async () => {
    const id = fresh('k');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const folded = open(
      mint(`{"user_id":"first","USER_ID":${JSON.stringify(id)},"exp":${exp}}`, USER_SECRET),
      'header',
    );
    expect(await folded.json(0)).toEqual({ kind: 'connect', userID: id });
    await folded.close();
    for (const value of ['[1]', '{"a":1}']) {
      const client = open(mint(payloadWith(value), USER_SECRET), 'header');
      expect(((await client.json(0)) as { error: { code: string } }).error.code).toBe(
        'GREGOR_ERR_AUTH_INVALID',
      );
      expect((await client.closed).code).toBe(4500);
    }
  });

  it('a device_id of any shape is ignored, as Notify ignores every claim but user_id (7, "my phone")', async () => {
    for (const device of ['7', '"my phone"']) {
      const id = fresh('d');
      const payload = `{"user_id":${JSON.stringify(id)},"device_id":${device},"exp":${Math.floor(Date.now() / 1000) + 600}}`;
      const client = open(mint(payload, USER_SECRET), 'header');
      expect(await client.json(0)).toEqual({ kind: 'connect', userID: id });
      expect(await client.json(1)).toEqual({ kind: 'state', state: {} });
      await client.close();
    }
  });

  it('different on purpose: a token that names no user (no user_id, or "") is refused, where Notify used ""', async () => {
    for (const payload of [`{"exp":${Math.floor(Date.now() / 1000) + 600}}`, payloadWith('""')]) {
      const client = new NotifyClient(notifyWs, { authorization: `Bearer ${mint(payload, USER_SECRET)}` });
      expect(((await client.json(0)) as { error: { code: string } }).error.code).toBe(
        'GREGOR_ERR_AUTH_INVALID',
      );
      expect((await client.closed).code).toBe(4500);
    }
    expect(await numsub('notify:')).toBe(0);
  });

  it('a Gregor device of a user whose Notify ID is an e-mail gets PUBLISH notify:<e-mail>, under the encoded ID', async () => {
    const email = `u${fresh()}@b.com`;
    const token = mint(payloadWith(JSON.stringify(email)), USER_SECRET, 'HS512');
    const device = new TestDevice(`${server.ws}?device=phone`, { token });
    const hello = await device.type('hello');
    expect(hello.uid).toBe(`~${Buffer.from(email).toString('base64url')}`);
    device.send({ type: 'sync' });
    await device.next((f) => ['state', 'synced', 'messages'].includes(f.type));
    await redisCli('PUBLISH', `notify:${email}`, '{"badge":3}');
    const frame = await device.type('message', 15_000);
    expect(frame.message).toMatchObject({ system: 'notify', body: { badge: 3 } });
    await device.close();
  });

  it('a Gregor device of a user_id above 2^53 listens on the exact digits', async () => {
    const digits = `9${fresh()}123`;
    const device = new TestDevice(`${server.ws}?device=phone`, {
      token: mint(payloadWith(digits), USER_SECRET),
    });
    expect((await device.type('hello')).uid).toBe(digits);
    device.send({ type: 'sync' });
    await device.next((f) => ['state', 'synced', 'messages'].includes(f.type));
    await redisCli('PUBLISH', `notify:${digits}`, 'exact');
    expect((await device.type('message', 15_000)).message).toMatchObject({ system: 'notify', body: 'exact' });
    await device.close();
  });

  it('a user ID too long for Gregor once encoded works on /notify/ws and is refused on /v1/ws with a coded error', async () => {
    const long = `${fresh()}@${'x'.repeat(120)}`;
    const token = mint(payloadWith(JSON.stringify(long)), USER_SECRET);
    const notify = new NotifyClient(notifyWs, { authorization: `Bearer ${token}` });
    expect(await notify.json(0)).toEqual({ kind: 'connect', userID: long });
    await notify.close();
    const device = new TestDevice(`${server.ws}?device=phone`, { token });
    const error = await device.type('error');
    expect(error).toMatchObject({ code: 'GREGOR_ERR_FORBIDDEN' });
    expect(String(error.message)).toMatch(/over 128 characters.*\/notify\/ws only/);
    expect((await device.closed).code).toBe(4500);
  });
});
