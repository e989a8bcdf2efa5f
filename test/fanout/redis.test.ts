import { afterAll, beforeAll } from 'vitest';
import { RedisFanOut } from '../../src/server/fanout/redis/index.js';
import { freePort, type ServerProcess, startRedis } from '../fleet/processes.js';
import { REDIS_URL, requireRedis } from '../support/redis.js';
import { fanOutSuite } from './fanout-suite.js';

const up = await requireRedis('Redis fan-out');

if (up) {
  // The contract on the shared Redis (each test has its own channel prefix)…
  fanOutSuite('redis', () => ({
    exactCount: true,
    open: (nodeId, namespace, log) =>
      new RedisFanOut({ url: REDIS_URL, prefix: `gregor-test-${namespace}:`, nodeId, log }),
  }));

  // …and the outages on a private redis-server, so stopping it disturbs no other test.
  let redis: ServerProcess | undefined;
  beforeAll(async () => {
    redis = await startRedis(await freePort());
  });
  afterAll(async () => {
    await redis?.stop();
  });
  fanOutSuite('redis (a private server, stopped and started)', () => ({
    exactCount: true,
    open: (nodeId, namespace, log) =>
      new RedisFanOut({ url: redis!.url, prefix: `gregor-test-${namespace}:`, nodeId, log }),
    outage: { down: () => redis!.stop(), up: () => redis!.start() },
    partition: {
      target: () => ({ host: '127.0.0.1', port: Number(new URL(redis!.url).port) }),
      open: (nodeId, namespace, log, port) =>
        new RedisFanOut({
          url: `redis://127.0.0.1:${port}`,
          prefix: `gregor-test-${namespace}:`,
          nodeId,
          log,
        }),
    },
  }));
}
