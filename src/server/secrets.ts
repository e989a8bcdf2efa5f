import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GregorError } from '../protocol/errors.js';

export interface DevSecrets {
  readonly jwtSecret: string;
  readonly serviceSecret: string;
}

/**
 * Zero-config start: when no key is configured, a random secret for user tokens and another for
 * service tokens are made once and kept in `<data-dir>/secrets.json` (mode 0600), so tokens made
 * by `gregor token` keep working across restarts.
 */
export async function loadDevSecrets(dataDir: string): Promise<DevSecrets & { created: boolean }> {
  const existing = await readDevSecrets(dataDir);
  if (existing) return { ...existing, created: false };
  const secrets = {
    jwtSecret: randomBytes(32).toString('hex'),
    serviceSecret: randomBytes(32).toString('hex'),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    devSecretsPath(dataDir),
    JSON.stringify({ jwt_secret: secrets.jwtSecret, service_secret: secrets.serviceSecret }, null, 2),
    { mode: 0o600, flag: 'wx' },
  ).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  // Another process may have made them first (EEXIST): whatever is on disk now is what counts.
  return { ...(await readDevSecrets(dataDir))!, created: true };
}

export function devSecretsPath(dataDir: string): string {
  return join(dataDir, 'secrets.json');
}

/** The dev secrets kept in `dataDir`, or null when there are none (never makes them). */
export async function readDevSecrets(dataDir: string): Promise<DevSecrets | null> {
  const path = devSecretsPath(dataDir);
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as {
      jwt_secret?: unknown;
      service_secret?: unknown;
    };
    if (typeof doc.jwt_secret !== 'string' || typeof doc.service_secret !== 'string')
      throw new Error('fields missing');
    return { jwtSecret: doc.jwt_secret, serviceSecret: doc.service_secret };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GregorError(
      'INVALID_CONFIG',
      `${path} is unreadable (${(e as Error).message}); delete it to make new secrets`,
    );
  }
}
