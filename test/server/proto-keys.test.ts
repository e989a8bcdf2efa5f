import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mirror } from '../../src/client/mirror.js';
import type { InBandMessage } from '../../src/protocol/message.js';
import { connectDevice, type Frame } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

/** Written as JSON text: in a JavaScript object literal `__proto__:` would set the prototype instead. */
const CREATE_PROTO =
  '{"id":"c-proto","system":"gregor","body":{"create":{"__proto__":{"category":"c","body":{"__proto__":{"x":1},"constructor":2}}}}}';

async function serverState(uid: string, device: string): Promise<{ hash: string; items: object }> {
  const r = await fetch(`${server.url}/v1/users/${uid}/state?device=${device}`, {
    headers: { authorization: `Bearer ${await server.serviceToken()}` },
  });
  return (await r.json()) as { hash: string; items: object };
}

/** What a device does with frames: the SDK's mirror, fed by the frames as they arrived. */
function mirrorOf(uid: string, state: Frame): Mirror {
  const mirror = new Mirror();
  mirror.uid = uid;
  mirror.loadState(state.items as Parameters<Mirror['loadState']>[0], Number(state.cursor));
  return mirror;
}

describe('an item ID __proto__ over WebSocket', () => {
  it('reaches another device in the live frame, is in the state and messages frames on reconnect, and every hash equals the server’s', async () => {
    const uid = 'proto';
    const token = await server.userToken(uid);
    const a = await connectDevice(server.ws, token, 'a');
    const b = await connectDevice(server.ws, token, 'b');
    const mirror = mirrorOf(uid, b.answer);

    a.device.send(`{"type":"consume","ref":"r1","message":${CREATE_PROTO}}`);
    expect(await a.device.type('ack')).toMatchObject({
      ref: 'r1',
      msg_id: 'c-proto',
      seq: 1,
      status: 'stored',
    });

    const live = (await b.device.type('message')).message as { body: { create: object }; seq: number };
    expect(Object.keys(live.body.create)).toEqual(['__proto__']);
    const item = Object.getOwnPropertyDescriptor(live.body.create, '__proto__')?.value as { body: object };
    expect(Object.keys(item.body)).toEqual(['__proto__', 'constructor']);
    expect(mirror.applyStored(mirror.parse(live) as InBandMessage, live.seq)).toBe(true);
    expect(mirror.cursor).toBe(1);
    const expected = await serverState(uid, 'b');
    expect(Object.keys(expected.items)).toEqual(['__proto__']);
    expect(mirror.hash('b', Date.now())).toBe(expected.hash);
    await b.device.close();

    // No cursor: the full state.
    const full = await connectDevice(server.ws, token, 'b');
    expect(full.answer.type).toBe('state');
    expect(Object.keys(full.answer.items as object)).toEqual(['__proto__']);
    expect(full.answer.hash).toBe(expected.hash);
    expect(mirrorOf(uid, full.answer).hash('b', Date.now())).toBe(expected.hash);
    await full.device.close();

    // A cursor from before: the missed message, which the device applies to reach the server's hash.
    const empty = mirrorOf(uid, b.answer);
    const missed = await connectDevice(server.ws, token, 'b', {
      cursor: 0,
      hash: empty.hash('b', Date.now()),
    });
    expect(missed.answer).toMatchObject({ type: 'messages', cursor: 1, hash: expected.hash });
    for (const m of missed.answer.messages as { seq: number }[])
      empty.applyStored(empty.parse(m) as InBandMessage, m.seq);
    expect(empty.visible('b', Date.now()).map((i) => i.id)).toEqual(['__proto__']);
    expect(empty.hash('b', Date.now())).toBe(expected.hash);
    await Promise.all([missed.device.close(), a.device.close()]);
  });
});

describe('an item ID __proto__ over HTTP', () => {
  it('is accepted like any other key and reaches a connected device', async () => {
    const uid = 'proto-http';
    const { device } = await connectDevice(server.ws, await server.userToken(uid), 'd');
    const r = await fetch(`${server.url}/v1/users/${uid}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.serviceToken()}`, 'content-type': 'application/json' },
      body: CREATE_PROTO,
    });
    expect(r.status).toBe(200);
    const live = await device.type('message');
    expect(Object.keys((live.message as { body: { create: object } }).body.create)).toEqual(['__proto__']);
    expect(Object.keys((await serverState(uid, 'd')).items)).toEqual(['__proto__']);
    await device.close();
  });
});
