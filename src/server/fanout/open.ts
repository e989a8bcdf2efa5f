import type { Config } from '../config.js';
import type { FanOut, FanOutLog } from './fan-out.js';
import { MemoryFanOut } from './memory/index.js';
import { NatsFanOut } from './nats/index.js';
import { RedisFanOut } from './redis/index.js';

/** The settings a backend reads. */
export type FanOutConfig = Pick<
  Config,
  'fanout' | 'nodeId' | 'redisUrl' | 'redisNodes' | 'redisPrefix' | 'natsUrl' | 'natsPrefix'
>;

/**
 * Opens the fan-out backend the configuration names. Never waits for a server: a networked
 * backend connects in the background and reports `healthy` once its subscription is up.
 *
 * @example
 *   const fanOut = openFanOut(loadConfig(['--fanout', 'nats'], process.env), log);
 */
export function openFanOut(config: FanOutConfig, log: FanOutLog): FanOut {
  switch (config.fanout) {
    case 'memory':
      return new MemoryFanOut({ nodeId: config.nodeId, log });
    case 'redis':
      return new RedisFanOut({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        nodeId: config.nodeId,
        log,
      });
    case 'redis-cluster':
      return new RedisFanOut({
        nodes: config.redisNodes,
        prefix: config.redisPrefix,
        nodeId: config.nodeId,
        log,
      });
    case 'nats':
      return new NatsFanOut({
        servers: config.natsUrl ?? 'nats://127.0.0.1:4222',
        prefix: config.natsPrefix,
        nodeId: config.nodeId,
        log,
      });
  }
}
