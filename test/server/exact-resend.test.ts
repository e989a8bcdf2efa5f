import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The example message of README.md's "Try it", exactly as the README writes it. */
function readmeExample(): unknown {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const text = /npm run gregor -- send \w+ '(\{.*\})'/.exec(readme)?.[1];
  if (!text) throw new Error('README.md has no `gregor send` example');
  return JSON.parse(text);
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

async function items(uid: string): Promise<string[]> {
  const r = await fetch(`${server.url}/v1/users/${uid}/state`, {
    headers: { authorization: `Bearer ${await server.serviceToken()}` },
  });
  return Object.keys(((await r.json()) as { items: object }).items);
}

describe('an exact resend is a no-op', () => {
  it("the README's example POSTed twice: the second answer has the same msg_id and status duplicate, and the state has one item", async () => {
    const example = readmeExample();
    const first = await server.inject('resend', example);
    expect(first).toMatchObject({ status: 200, body: { status: 'stored', seq: 1 } });
    await new Promise((r) => setTimeout(r, 5)); // a later ctime: the created time it defaults to differs
    const second = await server.inject('resend', example);
    expect(second).toMatchObject({
      status: 200,
      body: { msg_id: first.body.msg_id, seq: 1, status: 'duplicate' },
    });
    expect(await items('resend')).toEqual(['hello']);
  });

  it('the same message without an id consumed twice over WebSocket: the second ack is a duplicate, and devices get it once', async () => {
    const example = readmeExample();
    const token = await server.userToken('resend-ws');
    const { device } = await connectDevice(server.ws, token, 'phone');
    device.send({ type: 'consume', ref: 'r1', message: example });
    const ack = await device.type('ack');
    expect(ack).toMatchObject({ ref: 'r1', seq: 1, status: 'stored' });
    await device.type('message');
    await new Promise((r) => setTimeout(r, 5));
    device.send({ type: 'consume', ref: 'r2', message: example });
    expect(await device.type('ack')).toMatchObject({
      ref: 'r2',
      msg_id: ack.msg_id,
      seq: 1,
      status: 'duplicate',
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(device.all('message')).toHaveLength(1);
    expect(await items('resend-ws')).toEqual(['hello']);
    await device.close();
  });

  it('a flush without an id is a new flush every time', async () => {
    const flush = { system: 'gregor', body: { flush: true } };
    const first = await server.inject('resend-flush', flush);
    await new Promise((r) => setTimeout(r, 5));
    const second = await server.inject('resend-flush', flush);
    expect(first.body).toMatchObject({ status: 'stored', seq: 1 });
    expect(second.body).toMatchObject({ status: 'stored', seq: 2 });
    expect(second.body.msg_id).not.toBe(first.body.msg_id);
  });
});
