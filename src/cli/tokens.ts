import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { GregorError } from '../protocol/errors.js';
import { SERVICE_SCOPE } from '../server/auth.js';
import { devSecretsPath, readDevSecrets } from '../server/secrets.js';

/** The secrets the CLI signs with, and where they came from (for messages to the person). */
export interface SigningSecrets {
  readonly user: string;
  readonly service: string;
  /** `environment`, or the path of the dev secrets file used. */
  readonly source: string;
}

/**
 * The secrets the CLI signs with: configured ones (GREGOR_JWT_SECRET and GREGOR_SERVICE_SECRET),
 * else the server's zero-config dev secrets in `dataDir`. Never makes secrets: a token signed
 * with secrets the server does not have could only fail.
 */
export async function signingSecrets(env: NodeJS.ProcessEnv, dataDir: string): Promise<SigningSecrets> {
  if (env.GREGOR_JWT_SECRET && env.GREGOR_SERVICE_SECRET) {
    return { user: env.GREGOR_JWT_SECRET, service: env.GREGOR_SERVICE_SECRET, source: 'environment' };
  }
  const dev = await readDevSecrets(dataDir);
  if (!dev) {
    throw new GregorError(
      'INVALID_CONFIG',
      `no dev secrets at ${resolve(devSecretsPath(dataDir))}: pass the server's --data-dir ` +
        '(or GREGOR_DATA_DIR), run the command where the server runs, or set GREGOR_JWT_SECRET ' +
        "and GREGOR_SERVICE_SECRET to the server's secrets",
    );
  }
  return {
    user: env.GREGOR_JWT_SECRET ?? dev.jwtSecret,
    service: env.GREGOR_SERVICE_SECRET ?? dev.serviceSecret,
    source: resolve(devSecretsPath(dataDir)),
  };
}

/**
 * The server's data directory as a person expects to find it: `--data-dir` or GREGOR_DATA_DIR
 * when given; else the nearest `data/` holding dev secrets, from `cwd` up (so the CLI works from
 * any folder of the project `npm start` runs in); else `./data`.
 */
export function findDataDir(explicit: string | undefined, cwd: string): string {
  if (explicit) return explicit;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(devSecretsPath(join(dir, 'data')))) return join(dir, 'data');
    if (dirname(dir) === dir) return join(cwd, 'data');
  }
}

/**
 * Makes an HS256 token: a user token (`user_id`, optional `device_id`) or, with `service`, a
 * token that acts for any user (`scope: "gregor:service"`, signed with the service secret).
 *
 * @example
 *   await makeToken({ secret, uid: 'alice', device: 'phone', ttlSeconds: 3600 });
 */
export async function makeToken(o: {
  secret: string;
  uid?: string;
  device?: string;
  service?: boolean;
  ttlSeconds: number;
}): Promise<string> {
  const claims: Record<string, unknown> = o.service ? { scope: SERVICE_SCOPE } : { user_id: o.uid };
  if (o.device) claims.device_id = o.device;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + o.ttlSeconds)
    .sign(new TextEncoder().encode(o.secret));
}

/** Headers for the HTTP API with a short-lived service token. */
export async function serviceHeaders(
  secrets: SigningSecrets,
  ttlSeconds = 300,
): Promise<Record<string, string>> {
  const t = await makeToken({ secret: secrets.service, service: true, ttlSeconds });
  return { authorization: `Bearer ${t}`, 'content-type': 'application/json' };
}

/** What to tell a person whose token the server refused: which secrets signed it. */
export function refusedHint(secrets: SigningSecrets): string {
  return (
    `gregor: the server refused a token signed with the secrets from ${secrets.source}; ` +
    "pass the server's --data-dir, or set GREGOR_JWT_SECRET and GREGOR_SERVICE_SECRET to the server's secrets"
  );
}
