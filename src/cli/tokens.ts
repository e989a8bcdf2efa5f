import { SignJWT } from 'jose';
import { SERVICE_SCOPE } from '../server/auth.js';
import { loadDevSecrets } from '../server/secrets.js';

/** The secrets the CLI signs with: configured ones, else the server's zero-config dev secrets. */
export async function signingSecrets(
  env: NodeJS.ProcessEnv,
  dataDir: string,
): Promise<{ user: string; service: string }> {
  const needDev = !env.GREGOR_JWT_SECRET || !env.GREGOR_SERVICE_SECRET;
  const dev = needDev ? await loadDevSecrets(dataDir) : null;
  return {
    user: env.GREGOR_JWT_SECRET ?? dev!.jwtSecret,
    service: env.GREGOR_SERVICE_SECRET ?? dev!.serviceSecret,
  };
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
