import { GregorError } from '../protocol/errors.js';
import type { Config } from './config.js';

/**
 * Notify's names (go-bridget/notify) for Gregor settings, read when Gregor's own name is not set:
 * a Notify deployment keeps its environment. `PORT` is Go's listen address (`:3000`, `host:port`);
 * `PORT` is ignored when Gregor's own `host` or `port` is set (flag or variable).
 * `PUBSUB_REDIS_ADDR` is `host[:port]` (port 6379 when missing). Every alias but `PORT` (which
 * platforms set for any app) turns Notify compatibility on: with no Redis setting, Redis is then
 * Notify's default `redis:6379`.
 */
export const NOTIFY_ALIASES = [
  { names: ['--notify-jwt-secret', 'NOTIFY_JWT_SECRET'], sets: 'jwt-secret' },
  { names: ['--notify-session-cookie', 'NOTIFY_SESSION_COOKIE'], sets: 'auth-cookie' },
  { names: ['PUBSUB_REDIS_ADDR'], sets: 'redis-url (redis://host:port; port 6379 when missing)' },
  {
    names: ['PORT'],
    sets: 'host and port (Go form: ":3000" is every IPv4 interface, or "host:port"); ignored when host or port is set',
  },
] as const;

/** Notify's Redis address when none is given. */
export const NOTIFY_DEFAULT_REDIS = 'redis://redis:6379';

/**
 * The values Notify's names give (flags win over variables), by Gregor setting, and whether one
 * that turns Notify compatibility on was used. Consumes the alias flags.
 */
export function notifyAliases(
  flags: Map<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  ownListen: boolean,
): { aliases: Map<keyof Config, string>; notify: boolean } {
  const aliases = new Map<keyof Config, string>();
  const take = (flag: string) => {
    const value = flags.get(flag);
    flags.delete(flag);
    return value;
  };
  const secret = take('notify-jwt-secret') ?? env.NOTIFY_JWT_SECRET;
  const cookie = take('notify-session-cookie') ?? env.NOTIFY_SESSION_COOKIE;
  const redis = env.PUBSUB_REDIS_ADDR;
  if (secret) aliases.set('jwtSecret', secret);
  if (cookie) aliases.set('authCookie', cookie);
  if (redis) aliases.set('redisUrl', redisAddr(redis));
  // PORT is ignored whole when Gregor's own host or port is set: an inherited PORT must not widen
  // a Gregor bound to loopback (`--port 7400` with PORT=:3000 stays on 127.0.0.1).
  if (env.PORT && !ownListen) {
    const { host, port } = goListenAddr(env.PORT);
    if (host !== null) aliases.set('host', host);
    aliases.set('port', port);
  }
  return { aliases, notify: Boolean(secret || cookie || redis) };
}

/** Notify's `PUBSUB_REDIS_ADDR` (`host[:port]`) as a Redis URL. */
function redisAddr(addr: string): string {
  const hasPort = /:\d+$/.test(addr) && !/^\[[^\]]*\]$/.test(addr);
  return `redis://${hasPort ? addr : `${addr}:6379`}`;
}

/** Go's listen address (`:3000`, `host:3000`, `[::1]:3000`, or a bare port) as host and port. */
function goListenAddr(addr: string): { host: string | null; port: string } {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) {
    if (/^\d+$/.test(addr)) return { host: null, port: addr };
    throw new GregorError(
      'INVALID_CONFIG',
      `PORT: ${JSON.stringify(addr)} is not a listen address like :3000 or host:3000`,
    );
  }
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  // Go listens on every interface when the host is empty.
  return { host: host === '' ? '0.0.0.0' : host, port: m[2]! };
}
