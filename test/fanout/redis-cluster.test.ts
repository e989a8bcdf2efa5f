import { afterAll, beforeAll } from 'vitest';
import { RedisFanOut } from '../../src/server/fanout/redis/index.js';
import { type RedisClusterProcess, startRedisCluster } from '../fleet/processes.js';
import { requireRedis } from '../support/redis.js';
import { fanOutSuite } from './fanout-suite.js';

if (await requireRedis('Redis Cluster fan-out')) {
  // A private three-master cluster: its outages disturb no other test.
  let cluster: RedisClusterProcess | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster(18_400 + Math.floor(Math.random() * 500) * 3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  fanOutSuite('redis-cluster', () => ({
    exactCount: true,
    open: (nodeId, namespace, log) =>
      new RedisFanOut({ nodes: cluster!.nodes, prefix: `gregor-test-${namespace}:`, nodeId, log }),
    outage: { down: () => cluster!.down(), up: () => cluster!.up() },
  }));
}
