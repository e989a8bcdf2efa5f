import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../client/support.js';
import { TestDevice } from '../support/device.js';
import { type TestServer, USER_SECRET } from '../support/server.js';
import {
  fresh,
  mint,
  NotifyClient,
  payloadWith,
  redisCli,
  requireRedis,
  startNotifyServer,
} from './support.js';

const up = await requireRedis('the Notify bridge');

describe.skipIf(!up)('the Notify bridge: PUBLISH notify:<id> to Gregor devices', () => {
  let server: TestServer;
  let notifyWs: string;

  beforeAll(async () => {
    ({ server, notifyWs } = await startNotifyServer(['--max-message-bytes', '1024']));
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('a payload too large for a Gregor message still reaches Notify sockets raw, and is dropped for Gregor devices loudly', async () => {
    const id = fresh('u');
    const token = mint(payloadWith(JSON.stringify(id)), USER_SECRET);
    const notify = new NotifyClient(notifyWs, { authorization: `Bearer ${token}` });
    await notify.ready();
    const device = new TestDevice(`${server.ws}?device=phone`, { token });
    await device.type('hello');
    device.send({ type: 'sync' });
    await device.next((f) => ['state', 'synced', 'messages'].includes(f.type));
    const dropped = async () =>
      (await server.gregord.metrics.notifyBridgeDropped.get()).values.find(
        (v) => v.labels.reason === 'too_large',
      )?.value ?? 0;
    const before = await dropped();

    const big = `"${'x'.repeat(2000)}"`;
    await redisCli('PUBLISH', `notify:${id}`, big);
    await redisCli('PUBLISH', `notify:${id}`, '{"small":true}');
    expect(await notify.frame(2)).toBe(big);
    expect(await notify.frame(3)).toBe('{"small":true}');
    // The device's first notify message is the small one: the big one was dropped, and counted.
    expect((await device.type('message', 15_000)).message).toMatchObject({
      system: 'notify',
      body: { small: true },
    });
    await until('the drop is counted', async () => (await dropped()) === before + 1);
    await Promise.all([notify.close(), device.close()]);
  });

  it("Gregor's own out-of-band messages do not reach Notify sockets (one way: Notify to Gregor)", async () => {
    const id = fresh('u');
    const notify = new NotifyClient(notifyWs, {
      authorization: `Bearer ${mint(payloadWith(JSON.stringify(id)), USER_SECRET)}`,
    });
    await notify.ready();
    const injected = await server.inject(id, { id: `m${fresh()}`, system: 'chat', body: { hi: 1 } });
    expect(injected.status).toBeLessThan(300);
    await redisCli('PUBLISH', `notify:${id}`, 'marker');
    expect(await notify.frame(2)).toBe('marker');
    expect(notify.frames).toHaveLength(3);
    await notify.close();
  });
});
