import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { until } from '../client/support.js';
import { startTestServer, USER_SECRET } from '../support/server.js';
import { fresh, mint, NotifyClient, payloadWith, REDIS_URL, redisCli, requireRedis } from './support.js';

const up = await requireRedis('Notify token expiry');

/** A server with no clock-skew leeway, so a token ends exactly at its exp. */
const start = (extra: string[] = []) =>
  startTestServer([
    '--redis-url',
    REDIS_URL,
    '--redis-prefix',
    `gregor-test-${randomBytes(4).toString('hex')}:`,
    '--jwt-leeway-seconds',
    '0',
    ...extra,
  ]);

describe.skipIf(!up)('token expiry on /notify/ws', () => {
  it('by default, as Notify: exp is checked at connect only, a live socket outlives it', async () => {
    const server = await start();
    try {
      const id = fresh('u');
      const exp = Math.floor(Date.now() / 1000) + 2;
      const client = new NotifyClient(`${server.url.replace(/^http/, 'ws')}/notify/ws`, {
        authorization: `Bearer ${mint(payloadWith(JSON.stringify(id), exp), USER_SECRET)}`,
      });
      await client.ready();
      // The condition is time itself: the token must be past its exp.
      await until('the token is past exp', () => Date.now() > exp * 1000 + 1000, 10_000);
      await redisCli('PUBLISH', `notify:${id}`, 'after exp');
      expect(await client.frame(2)).toBe('after exp');
      await client.close();
    } finally {
      await server.cleanup();
    }
  });

  it('with notify-close-at-expiry: the socket closes with 4005 at exp', async () => {
    const server = await start(['--notify-close-at-expiry', 'true']);
    try {
      const exp = Math.floor(Date.now() / 1000) + 2;
      const client = new NotifyClient(`${server.url.replace(/^http/, 'ws')}/notify/ws`, {
        authorization: `Bearer ${mint(payloadWith(JSON.stringify(fresh('u')), exp), USER_SECRET)}`,
      });
      await client.ready();
      expect((await client.closed).code).toBe(4005);
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
    } finally {
      await server.cleanup();
    }
  });
});
