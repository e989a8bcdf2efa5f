import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['--reminder-interval-ms', '50ms']);
});
afterAll(async () => {
  await server.cleanup();
});

const create = (id: string, extra: Record<string, unknown> = {}) => ({
  system: 'gregor',
  body: { create: { [id]: { category: 'test', body: { id }, ...extra } } },
});

async function devicesOf(uid: string, names: string[]): Promise<TestDevice[]> {
  return Promise.all(
    names.map(async (name) => (await connectDevice(server.ws, await server.userToken(uid), name)).device),
  );
}

const settle = () => new Promise((r) => setTimeout(r, 150));
const liveIds = (d: TestDevice) => d.all('message').map((f) => (f.message as { id: string }).id);

describe('delivery to devices', () => {
  it('5 devices of one user each receive one create exactly once; a later device gets it by sync, not by broadcast', async () => {
    const devices = await devicesOf('five', ['d1', 'd2', 'd3', 'd4', 'd5']);
    const { body } = await server.inject('five', create('hello'));
    expect(body.status).toBe('stored');
    for (const d of devices) await d.type('message');
    await settle();
    for (const d of devices) expect(liveIds(d)).toEqual([body.msg_id]);
    const late = await connectDevice(server.ws, await server.userToken('five'), 'd6');
    expect(late.answer.type).toBe('state');
    expect(Object.keys(late.answer.items as object)).toEqual(['hello']);
    await settle();
    expect(late.device.all('message')).toEqual([]);
    await Promise.all([...devices, late.device].map((d) => d.close()));
  });

  it('a device consumes a change: acknowledged after it is durable, and echoed to every device including the sender', async () => {
    const [a, b] = await devicesOf('echo', ['a', 'b']);
    a!.send({ type: 'consume', ref: 'r1', message: { id: 'client-1', ...create('x') } });
    const ack = await a!.type('ack');
    expect(ack).toMatchObject({ ref: 'r1', msg_id: 'client-1', seq: 1, status: 'stored' });
    for (const d of [a!, b!])
      expect((await d.type('message')).message).toMatchObject({ id: 'client-1', seq: 1 });
    a!.send({ type: 'consume', ref: 'r2', message: { id: 'client-1', ...create('x') } });
    expect(await a!.type('ack')).toMatchObject({
      ref: 'r2',
      msg_id: 'client-1',
      seq: 1,
      status: 'duplicate',
    });
    await settle();
    expect(b!.all('message')).toHaveLength(1);
    await Promise.all([a!.close(), b!.close()]);
  });

  it('a dismissal from one device removes the item on every device', async () => {
    const [a, b] = await devicesOf('dismiss', ['a', 'b']);
    await server.inject('dismiss', create('gone'));
    a!.send({ type: 'consume', message: { system: 'gregor', body: { dismiss: { ids: ['gone'] } } } });
    for (const d of [a!, b!]) {
      const frame = await d.next(
        (f) => f.type === 'message' && 'dismiss' in ((f.message as { body: object }).body ?? {}),
      );
      expect(frame.message).toMatchObject({ body: { dismiss: { ids: ['gone'] } } });
    }
    const response = await fetch(`${server.url}/v1/users/dismiss/state`, {
      headers: { authorization: `Bearer ${await server.serviceToken()}` },
    });
    const state = (await response.json()) as { items: object };
    expect(state.items).toEqual({});
    await Promise.all([a!.close(), b!.close()]);
  });

  it('items and dismissals for one device reach only that device', async () => {
    const [phone, laptop] = await devicesOf('scoped', ['phone', 'laptop']);
    await server.inject('scoped', create('only-phone', { for_device: 'phone' }));
    await server.inject('scoped', create('everyone'));
    await phone!.next((f) => f.type === 'message' && JSON.stringify(f).includes('everyone'));
    await laptop!.next((f) => f.type === 'message' && JSON.stringify(f).includes('everyone'));
    expect(JSON.stringify(phone!.all('message'))).toContain('only-phone');
    expect(JSON.stringify(laptop!.all('message'))).not.toContain('only-phone');
    await Promise.all([phone!.close(), laptop!.close()]);
  });

  it('messages of one user never reach another user', async () => {
    const [mine] = await devicesOf('me', ['d']);
    await server.inject('someone-else', create('secret'));
    await server.inject('me', create('mine'));
    await mine!.type('message');
    await settle();
    expect(JSON.stringify(mine!.frames)).not.toContain('secret');
    await mine!.close();
  });

  it('out-of-band messages and flush reach every device; out-of-band ones are not stored', async () => {
    const [a, b] = await devicesOf('oob', ['a', 'b']);
    const { body } = await server.inject('oob', {
      system: 'kbfs.favorites',
      body: { action: 'delete', tlf: '/private/alice,max' },
    });
    expect(body).toMatchObject({ status: 'relayed', seq: null });
    for (const d of [a!, b!])
      expect((await d.type('message')).message).toMatchObject({
        system: 'kbfs.favorites',
        body: { action: 'delete' },
      });
    const flush = await fetch(`${server.url}/v1/users/oob/flush`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.serviceToken()}` },
    });
    expect(((await flush.json()) as { status: string }).status).toBe('stored');
    for (const d of [a!, b!])
      expect((await d.type('message')).message).toMatchObject({ system: 'gregor', body: { flush: true } });
    await Promise.all([a!.close(), b!.close()]);
  });

  it('a reminder is shown once, at its time, on the devices its item is for', async () => {
    const [phone, laptop] = await devicesOf('remind', ['phone', 'laptop']);
    await server.inject('remind', create('r', { times: { remind_at: ['+300ms'] }, for_device: 'phone' }));
    const reminder = await phone!.type('reminder', 3000);
    expect(reminder).toMatchObject({ item_id: 'r', item: { category: 'test' } });
    await new Promise((r) => setTimeout(r, 400));
    expect(phone!.all('reminder')).toHaveLength(1);
    expect(laptop!.all('reminder')).toHaveLength(0);
    await Promise.all([phone!.close(), laptop!.close()]);
  });
});

describe('resync on reconnect', () => {
  it('a device that missed k messages gets exactly those since its cursor, and then the same hash', async () => {
    const token = await server.userToken('resync');
    const first = await connectDevice(server.ws, token, 'phone');
    const cursor = first.answer.cursor as number;
    await first.device.close();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++)
      sent.push(String((await server.inject('resync', create(`m${i}`))).body.msg_id));
    const again = await connectDevice(server.ws, token, 'phone', {
      cursor,
      hash: first.answer.hash as string,
    });
    expect(again.answer.type).toBe('messages');
    expect((again.answer.messages as { id: string }[]).map((m) => m.id)).toEqual(sent);
    const full = await connectDevice(server.ws, token, 'other');
    expect(again.answer.hash).toBe(full.answer.hash);
    await Promise.all([again.device.close(), full.device.close()]);
  });

  it('a device that missed nothing is told so in under 200 bytes', async () => {
    const token = await server.userToken('quiet');
    await server.inject('quiet', create('a'));
    const first = await connectDevice(server.ws, token, 'phone');
    await first.device.close();
    const again = await connectDevice(server.ws, token, 'phone', {
      cursor: first.answer.cursor as number,
      hash: first.answer.hash as string,
    });
    expect(again.answer.type).toBe('synced');
    expect(JSON.stringify(again.answer).length).toBeLessThan(200);
    await again.device.close();
  });

  it('a message committed while a device syncs is delivered once, after the sync answer', async () => {
    const token = await server.userToken('during');
    for (let round = 0; round < 20; round++) {
      const { device, answer } = await Promise.all([
        connectDevice(server.ws, token, `d${round}`),
        server.inject('during', create(`r${round}`)),
      ]).then(([c]) => c);
      const seen = new Set(Object.keys((answer.items ?? {}) as object));
      await new Promise((r) => setTimeout(r, 30));
      for (const f of device.all('message')) {
        const ids = Object.keys(((f.message as { body: { create?: object } }).body.create ?? {}) as object);
        for (const id of ids) {
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
      }
      expect(seen.has(`r${round}`)).toBe(true);
      await device.close();
    }
  });
});
