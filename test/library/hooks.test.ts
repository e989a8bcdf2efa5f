import { afterEach, describe, expect, it } from 'vitest';
import { makeToken } from '../../src/cli/tokens.js';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { parseMessage } from '../../src/protocol/validate.js';
import {
  type BeforeConsumePayload,
  createGregor,
  type Extension,
  type Gregor,
  GregorError,
  MemoryEngine,
  MemoryFanOut,
  type UndeliveredPayload,
} from '../../src/server/index.js';
import { until } from '../client/support.js';
import { connectDevice, TestDevice } from '../support/device.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';

const keys = { jwtSecret: USER_SECRET, serviceSecret: SERVICE_SECRET };
const userToken = (uid: string, device?: string) =>
  makeToken({ secret: USER_SECRET, uid, ...(device ? { device } : {}), ttlSeconds: 600 });
const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 600 });
const create = (id: string, extra: object = {}) => ({
  system: 'gregor',
  body: { create: { [id]: { category: 'c', ...extra } } },
});

const running: Gregor[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function start(extensions: Extension[], settings: object = {}) {
  const gregor = await createGregor({
    settings: {
      storage: 'memory',
      port: 0,
      logLevel: 'silent',
      reminderIntervalMs: 20,
      ...keys,
      ...settings,
    },
    extensions,
  });
  running.push(gregor);
  const url = await gregor.listen();
  const post = async (uid: string, message: unknown, token?: string) => {
    const r = await fetch(`${url}/v1/users/${uid}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token ?? (await serviceToken())}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(message),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  return { gregor, url, ws: `${url.replace('http', 'ws')}/v1/ws`, post };
}

/** Records every hook with the fields a test compares; `onDeliver` and `afterStore` by message. */
function recorder(log: string[]): Extension {
  return {
    name: 'recorder',
    onListen: ({ url }) => void log.push(`onListen ${url?.startsWith('http://') ? 'url' : url}`),
    onAuthenticate: ({ transport, principal }) =>
      void log.push(`onAuthenticate ${transport} ${principal?.uid ?? 'undecided'}`),
    onConnect: ({ uid, device, firstOnNode }) =>
      void log.push(`onConnect ${uid}/${device} first=${firstOnNode}`),
    onDisconnect: ({ uid, device, lastOnNode }) =>
      void log.push(`onDisconnect ${uid}/${device} last=${lastOnNode}`),
    beforeConsume: ({ message, source, principal }) =>
      void log.push(`beforeConsume ${message.md.uid} ${source} ${principal?.kind ?? 'none'}`),
    afterStore: ({ message, result }) =>
      void log.push(`afterStore ${message.md.uid} ${result.status} seq=${result.seq}`),
    onDeliver: ({ uid, devices, origin, publication }) =>
      void log.push(`onDeliver ${publication.kind} ${uid} devices=${devices} ${origin}`),
    onUndelivered: ({ message }) => void log.push(`onUndelivered ${message.md.uid}`),
    onReminder: ({ reminder }) => void log.push(`onReminder ${reminder.uid} ${reminder.item.id}`),
    onShutdown: () => void log.push('onShutdown'),
  };
}

describe('extension hooks', () => {
  it('fire in the documented order with the documented payloads', async () => {
    const log: string[] = [];
    const { gregor, ws, post } = await start([recorder(log)]);
    // The JWT verifier (priority 50) decides after the recorder (100) saw nobody decided yet; the
    // broadcaster (200) delivers before the recorder's afterStore and onReminder run.
    const { device } = await connectDevice(ws, await userToken('ann', 'phone'), 'phone');
    await post('ann', create('hello'));
    await device.type('message');
    device.send({ type: 'consume', ref: 'w', message: create('from-device') });
    await device.next((f) => f.type === 'ack');
    await device.type('message');
    await post('ann', create('later', { times: { remind_at: ['+50ms'] } }));
    await device.type('reminder', 5000);
    await post('bob', create('nobody-home'));
    await until('onUndelivered for bob', () => log.includes('onUndelivered bob'));
    await device.close();
    await until('onDisconnect', () => log.some((l) => l.startsWith('onDisconnect')));
    await gregor.close();
    // The service token that posts is verified once and then cached by the JWT verifier, but the
    // hooks still run for every request.
    expect(log.filter((l) => !l.startsWith('onAuthenticate http'))).toEqual([
      'onListen url',
      'onAuthenticate websocket undecided',
      'onConnect ann/phone first=true',
      'beforeConsume ann http service',
      'onDeliver message ann devices=1 local',
      'afterStore ann stored seq=1',
      'beforeConsume ann websocket user',
      'onDeliver message ann devices=1 local',
      'afterStore ann stored seq=2',
      'beforeConsume ann http service',
      'onDeliver message ann devices=1 local',
      'afterStore ann stored seq=3',
      'onDeliver reminder ann devices=1 local',
      'onReminder ann later',
      'beforeConsume bob http service',
      'afterStore bob stored seq=1',
      'onUndelivered bob',
      'onDisconnect ann/phone last=true',
      'onShutdown',
    ]);
    expect(log.filter((l) => l.startsWith('onAuthenticate http'))).toEqual(
      Array(3).fill('onAuthenticate http undecided'),
    );
  });

  it('a refusal in beforeConsume reaches the sender as a coded error, over HTTP and WebSocket, and stores nothing', async () => {
    const readOnly: Extension = {
      name: 'read-only-billing',
      beforeConsume({ message }) {
        if (message.kind === 'update' && message.create.some((i) => i.category.startsWith('billing.'))) {
          throw new GregorError('FORBIDDEN', 'billing is read-only');
        }
      },
    };
    const { ws, post, url } = await start([readOnly]);
    const http = await post('ann', {
      system: 'gregor',
      body: { create: { x: { category: 'billing.due' } } },
    });
    expect(http).toEqual({
      status: 403,
      body: { code: 'GREGOR_ERR_FORBIDDEN', message: 'billing is read-only' },
    });
    const { device } = await connectDevice(ws, await userToken('ann', 'phone'), 'phone');
    device.send({
      type: 'consume',
      ref: 'r1',
      message: { system: 'gregor', body: { create: { y: { category: 'billing.due' } } } },
    });
    expect(await device.type('error')).toEqual({
      type: 'error',
      ref: 'r1',
      code: 'GREGOR_ERR_FORBIDDEN',
      message: 'billing is read-only',
    });
    const state = await fetch(`${url}/v1/users/ann/state`, {
      headers: { authorization: `Bearer ${await serviceToken()}` },
    });
    expect(((await state.json()) as { items: object }).items).toEqual({});
    await device.close();
  });

  it('beforeConsume may transform a message of the same user; the transformed one is stored and acknowledged', async () => {
    const tagger: Extension = {
      name: 'tagger',
      beforeConsume({ message }) {
        if (message.kind !== 'update') return;
        return {
          ...message,
          create: message.create.map((i) => ({ ...i, category: `tagged.${i.category}` })),
        };
      },
    };
    const { ws, post } = await start([tagger]);
    const { device } = await connectDevice(ws, await userToken('ann', 'phone'), 'phone');
    const { body } = await post('ann', create('x'));
    expect(body.status).toBe('stored');
    const frame = await device.type('message');
    expect(frame.message).toMatchObject({
      id: body.msg_id,
      body: { create: { x: { category: 'tagged.c' } } },
    });
    await device.close();
  });

  it('onAuthenticate can replace JWTs (a session lookup) and refuse with a coded error on every transport', async () => {
    const sessions = new Map([['sess-ann', 'ann']]);
    const sessionAuth: Extension = {
      name: 'sessions',
      onAuthenticate({ token }) {
        const raw = token.replace(/^Bearer /, '');
        if (!raw.startsWith('sess-')) return;
        const uid = sessions.get(raw);
        if (!uid) throw new GregorError('AUTH_INVALID', 'no such session');
        return { kind: 'user', uid, device: null, validUntil: null };
      },
    };
    const { ws, post } = await start([sessionAuth]);
    // A session instead of a JWT, over HTTP and WebSocket.
    expect((await post('ann', create('a'), 'sess-ann')).status).toBe(200);
    const { device, answer } = await connectDevice(ws, 'sess-ann', 'laptop');
    expect(Object.keys(answer.items as object)).toEqual(['a']);
    await device.close();
    // An unknown session: the hook's code, not the JWT verifier's.
    expect(await post('ann', create('b'), 'sess-nobody')).toEqual({
      status: 401,
      body: { code: 'GREGOR_ERR_AUTH_INVALID', message: 'no such session' },
    });
    const refused = new TestDevice(`${ws}?device=d`, { token: 'sess-nobody' });
    expect(await refused.type('error')).toMatchObject({
      code: 'GREGOR_ERR_AUTH_INVALID',
      message: 'no such session',
    });
    expect((await refused.closed).code).toBe(CLOSE.UNAUTHORIZED);
    // JWTs still work: the hook left them to the verifier.
    expect((await post('ann', create('c'), await userToken('ann'))).status).toBe(200);
  });

  it('onAuthenticate below the JWT verifier augments it: it sees the verified principal and may refuse it', async () => {
    const revoked: Extension = {
      name: 'revoked-devices',
      priority: 10,
      onAuthenticate({ principal }) {
        if (principal?.device === 'stolen') throw new GregorError('AUTH_INVALID', 'this device was revoked');
      },
    };
    const { ws } = await start([revoked]);
    const ok = await connectDevice(ws, await userToken('ann', 'phone'), 'phone');
    await ok.device.close();
    const refused = new TestDevice(`${ws}`, { token: await userToken('ann', 'stolen') });
    expect(await refused.type('error')).toMatchObject({
      code: 'GREGOR_ERR_AUTH_INVALID',
      message: 'this device was revoked',
    });
    expect((await refused.closed).code).toBe(CLOSE.UNAUTHORIZED);
  });

  it('a refusal in onConnect closes the socket with its code, and onDisconnect still follows', async () => {
    const log: string[] = [];
    const quota: Extension = {
      name: 'quota',
      onConnect({ device }) {
        if (device === 'tv') throw new GregorError('FORBIDDEN', 'TVs are not in your plan');
      },
      onDisconnect: ({ device, lastOnNode }) => void log.push(`${device} last=${lastOnNode}`),
    };
    const { ws } = await start([quota]);
    const tv = new TestDevice(`${ws}?device=tv`, { token: await userToken('ann') });
    expect(await tv.type('error')).toMatchObject({
      code: 'GREGOR_ERR_FORBIDDEN',
      message: 'TVs are not in your plan',
    });
    expect((await tv.closed).code).toBe(CLOSE.UNAUTHORIZED);
    expect(tv.all('hello')).toEqual([]);
    expect(log).toEqual(['tv last=true']);
  });

  it('user level: the first and last device of a user on this node', async () => {
    const log: string[] = [];
    const presence: Extension = {
      name: 'presence',
      async onConnect({ device, firstOnNode, firstInFleet }) {
        log.push(`+${device} node=${firstOnNode} fleet=${await firstInFleet()}`);
      },
      async onDisconnect({ device, lastOnNode, lastInFleet }) {
        log.push(`-${device} node=${lastOnNode} fleet=${await lastInFleet()}`);
      },
    };
    const { ws } = await start([presence]);
    const a = await connectDevice(ws, await userToken('ann'), 'a');
    const b = await connectDevice(ws, await userToken('ann'), 'b');
    await a.device.close();
    await until('a left', () => log.length === 3);
    await b.device.close();
    await until('b left', () => log.length === 4);
    expect(log).toEqual([
      '+a node=true fleet=true',
      '+b node=false fleet=false',
      '-a node=false fleet=false',
      '-b node=true fleet=true',
    ]);
  });

  it('a hook that throws where a throw is not a refusal is logged and counted; the others still run', async () => {
    const broken: Extension = {
      name: 'broken',
      priority: 1000,
      afterStore() {
        throw new Error('boom');
      },
      onDeliver() {
        throw new Error('boom');
      },
    };
    const { ws, post, url } = await start([broken]);
    const { device } = await connectDevice(ws, await userToken('ann'), 'a');
    expect((await post('ann', create('x'))).status).toBe(200);
    await device.type('message');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('gregor_hook_failures_total{hook="afterStore",extension="broken"} 1');
    expect(metrics).toContain('gregor_hook_failures_total{hook="onDeliver",extension="broken"} 1');
    await device.close();
  });

  it('two extensions with one name are refused when the server is created, and what it opened is closed', async () => {
    const fanout = new MemoryFanOut();
    const engine = new MemoryEngine();
    await expect(
      createGregor({
        settings: { storage: 'memory', ...keys },
        engine,
        fanout,
        extensions: [{ name: 'x' }, { name: 'x' }],
      }),
    ).rejects.toThrow('two extensions are named "x"');
    await expect(fanout.subscribe('u')).rejects.toThrow();
    await expect(engine.state('u')).rejects.toMatchObject({ code: 'GREGOR_ERR_CLOSED' });
  });

  it('an extension written as a class has its hooks run (they live on the prototype)', async () => {
    const log: string[] = [];
    class Audit implements Extension {
      readonly name = 'audit';
      beforeConsume({ message }: BeforeConsumePayload) {
        log.push(`beforeConsume ${message.md.uid}`);
      }
      onUndelivered({ message }: UndeliveredPayload) {
        log.push(`onUndelivered ${message.md.uid}`);
      }
    }
    const { post } = await start([new Audit()]);
    await post('ann', create('x'));
    await until('onUndelivered ran', () => log.length === 2);
    expect(log).toEqual(['beforeConsume ann', 'onUndelivered ann']);
  });

  it('closing with devices connected: their onDisconnect runs before onShutdown, and new messages are refused', async () => {
    const log: string[] = [];
    const recorder: Extension = {
      name: 'recorder',
      onDisconnect: ({ device }) => void log.push(`onDisconnect ${device}`),
      onShutdown: () => void log.push('onShutdown'),
    };
    const { gregor, ws } = await start([recorder]);
    const { device } = await connectDevice(ws, await userToken('ann', 'phone'), 'phone');
    const closing = gregor.close();
    await expect(
      gregor.core.consume(parseMessage(create('late'), { uid: 'ann', now: Date.now() }), 'test'),
    ).rejects.toMatchObject({ code: 'GREGOR_ERR_NOT_READY' });
    await closing;
    expect((await device.closed).code).toBe(CLOSE.SERVER_RESTART);
    expect(log).toEqual(['onDisconnect phone', 'onShutdown']);
  });

  it('a login refused for a reason that may pass (a hook whose database is down) closes with a retry code; a bug in a hook is INTERNAL, logged and counted', async () => {
    const flaky: Extension = {
      name: 'sessions',
      onAuthenticate({ token }) {
        if (token.includes('db-down'))
          throw new GregorError('STORAGE_UNAVAILABLE', 'the session store is down');
        if (token.includes('bug')) throw new TypeError('cannot read properties of undefined');
      },
    };
    const { ws, url } = await start([flaky]);
    const down = new TestDevice(ws, { token: 'db-down' });
    expect(await down.type('error')).toMatchObject({ code: 'GREGOR_ERR_STORAGE_UNAVAILABLE' });
    expect((await down.closed).code).toBe(CLOSE.SERVER_RESTART);
    const buggy = new TestDevice(ws, { token: 'bug' });
    expect(await buggy.type('error')).toMatchObject({ code: 'GREGOR_ERR_INTERNAL' });
    expect((await buggy.closed).code).toBe(CLOSE.SERVER_RESTART);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('gregor_hook_failures_total{hook="onAuthenticate",extension="sessions"} 1');
  });
});
