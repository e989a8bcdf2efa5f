import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { until } from '../client/support.js';
import { REDIS_URL } from '../support/redis.js';

import { startTestServer, type TestServer } from '../support/server.js';

export { REDIS_URL, requireRedis } from '../support/redis.js';

/** The Origin of the test pages that may use the session cookie. */
export const ORIGIN = 'https://app.example';
/** Cookie auth as a Notify deployment sets it up: cookie `sid`, pages from ORIGIN. */
export const COOKIE_AUTH = ['--auth-cookie', 'sid', '--allowed-origins', ORIGIN];

/**
 * A gregord with Notify compatibility on the shared Redis (its own channel prefix, so tests do
 * not hear each other), and its `/notify/ws` URL.
 */
export async function startNotifyServer(
  settings: string[] = [],
): Promise<{ server: TestServer; notifyWs: string }> {
  const server = await startTestServer([
    '--redis-url',
    REDIS_URL,
    '--redis-prefix',
    `gregor-test-${randomBytes(4).toString('hex')}:`,
    ...settings,
  ]);
  return { server, notifyWs: `${server.url.replace(/^http/, 'ws')}/notify/ws` };
}

export type Alg = 'HS256' | 'HS384' | 'HS512';
const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/**
 * A token minted as a Notify issuer does: HMAC over a hand-written JSON payload, so that a
 * `user_id` such as `12345678901234567890` or `42.0` stays literal in the signed bytes.
 *
 * @example
 *   mint('{"user_id":42.0,"exp":9999999999}', secret, 'HS384');
 */
export function mint(payloadJson: string, secret: string, alg: Alg = 'HS256'): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
  const input = `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(payloadJson)}`;
  const signature = createHmac(HASH[alg], secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/** A payload with `user_id` written as the given JSON text, and an `exp` in ten minutes. */
export function payloadWith(userIdJson: string, exp = Math.floor(Date.now() / 1000) + 600): string {
  return `{"user_id":${userIdJson},"exp":${exp}}`;
}

/** The real `redis-cli`, as a Notify backend runs it (`PUBLISH notify:<id> ...`, `HSET ...`). */
export async function redisCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('redis-cli', ['-u', REDIS_URL, ...args]);
  return stdout.trim();
}

/** Subscribers of a channel, from `redis-cli PUBSUB NUMSUB`. */
export async function numsub(channel: string): Promise<number> {
  const out = await redisCli('PUBSUB', 'NUMSUB', channel);
  return Number(out.split('\n').at(-1));
}

/** A digit string no other test uses, so Notify's fixed keys do not collide between runs. */
export const fresh = (prefix = '') => `${prefix}${randomInt(1, 2 ** 47)}${randomInt(1, 2 ** 47)}`;

/**
 * A Notify client over a real WebSocket: records frames (raw) and how the socket ended. Notify
 * sends text frames only: reading a binary frame (`frame`, `json`, `ready`) fails the test.
 */
export class NotifyClient {
  readonly frames: string[] = [];
  /** Per frame: whether it came as a binary frame. */
  readonly binary: boolean[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The HTTP status of a refused upgrade. */
  readonly refused: Promise<number>;
  readonly opened: Promise<boolean>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data, isBinary) => {
      this.frames.push(data.toString());
      this.binary.push(isBinary);
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.refused = new Promise((resolve) =>
      this.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    this.opened = new Promise((resolve) => {
      this.socket.once('open', () => resolve(true));
      this.socket.once('unexpected-response', () => resolve(false));
    });
    this.socket.on('error', () => {});
  }

  /** Waits for the n-th frame (0-based), raw. */
  async frame(n: number): Promise<string> {
    await until(
      `frame ${n} arrives (got ${JSON.stringify(this.frames).slice(0, 500)})`,
      () => this.frames.length > n,
      15_000,
    );
    if (this.binary[n]) throw new Error(`frame ${n} came as a binary frame; Notify sends text frames`);
    return this.frames[n]!;
  }

  async json(n: number): Promise<unknown> {
    return JSON.parse(await this.frame(n));
  }

  /** Waits for connect and state; returns them parsed. */
  async ready(): Promise<{ connect: unknown; state: unknown }> {
    return { connect: await this.json(0), state: await this.json(1) };
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}
