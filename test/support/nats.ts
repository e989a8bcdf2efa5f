import { access, constants } from 'node:fs/promises';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER } from '../fleet/processes.js';

export const NATS_URL = process.env.GREGOR_TEST_NATS ?? 'nats://127.0.0.1:4222';

/**
 * Decides whether tests on the shared NATS run: unreachable locally, they skip loudly; unreachable
 * under CI, this throws, because a suite that silently skips in CI tests nothing.
 */
export async function requireNats(what: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: NATS_URL, reconnect: false, timeout: 2000 });
    await nc.close();
    return true;
  } catch {
    return skipOrFail(what, `NATS is unreachable at ${NATS_URL}`);
  }
}

/** The same for tests that run their own nats-server (to stop and restart it): the binary must be there. */
export async function requireNatsServer(what: string): Promise<boolean> {
  try {
    await access(NATS_SERVER, constants.X_OK);
    return true;
  } catch {
    return skipOrFail(what, `${NATS_SERVER} is not an executable (set GREGOR_TEST_NATS_SERVER)`);
  }
}

function skipOrFail(what: string, why: string): false {
  const message = `${why}: ${what} tests cannot run`;
  if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
  console.error(`\n*** SKIPPING ${what}: ${message} ***\n`);
  return false;
}
