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
  const path = join(dataDir, 'secrets.json');
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as {
      jwt_secret?: unknown;
      service_secret?: unknown;
    };
    if (typeof doc.jwt_secret !== 'string' || typeof doc.service_secret !== 'string')
      throw new Error('fields missing');
    return { jwtSecret: doc.jwt_secret, serviceSecret: doc.service_secret, created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new GregorError(
        'INVALID_CONFIG',
        `${path} is unreadable (${(e as Error).message}); delete it to make new secrets`,
      );
    }
  }
  const secrets = {
    jwtSecret: randomBytes(32).toString('hex'),
    serviceSecret: randomBytes(32).toString('hex'),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    path,
    JSON.stringify({ jwt_secret: secrets.jwtSecret, service_secret: secrets.serviceSecret }, null, 2),
    {
      mode: 0o600,
      flag: 'wx',
    },
  ).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return { ...(await loadDevSecrets(dataDir)), created: true };
}
