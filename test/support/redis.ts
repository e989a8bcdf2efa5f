import { Redis } from 'ioredis';

export const REDIS_URL = process.env.GREGOR_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/**
 * Decides whether Redis tests run: unreachable locally, they skip loudly; unreachable under CI,
 * this throws, because a suite that silently skips in CI tests nothing.
 */
export async function requireRedis(what: string): Promise<boolean> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    const message = `Redis is unreachable at ${REDIS_URL}: ${what} tests cannot run`;
    if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
    console.error(`\n*** SKIPPING ${what}: ${message} ***\n`);
    return false;
  } finally {
    client.disconnect();
  }
}

/** Runs a command on a fresh admin connection (CLIENT KILL and the like). */
export async function redisCommand(...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(REDIS_URL);
  try {
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}
