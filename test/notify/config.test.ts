import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText, loadConfig } from '../../src/server/config.js';
import { createGregor } from '../../src/server/library.js';
import { SERVICE_SECRET } from '../support/server.js';
import { fresh, mint, NotifyClient, payloadWith, REDIS_URL, requireRedis } from './support.js';

const up = await requireRedis("Notify's short secret");

describe("Notify's configuration names", () => {
  it('PORT in Go form: ":3000" listens on all interfaces; "host:port" and a bare port work too', () => {
    expect(loadConfig([], { PORT: ':3000' })).toMatchObject({ host: '0.0.0.0', port: 3000 });
    expect(loadConfig([], { PORT: 'localhost:4000' })).toMatchObject({ host: 'localhost', port: 4000 });
    expect(loadConfig([], { PORT: '[::1]:4000' })).toMatchObject({ host: '::1', port: 4000 });
    expect(loadConfig([], { PORT: '5000' })).toMatchObject({ host: '127.0.0.1', port: 5000 });
    expect(() => loadConfig([], { PORT: 'nope' })).toThrow(/PORT/);
    // PORT alone (platforms set it for any app) does not turn Notify on.
    expect(loadConfig([], { PORT: ':3000' }).redisUrl).toBeNull();
  });

  it('PUBSUB_REDIS_ADDR is host[:port], 6379 when no port is given', () => {
    expect(loadConfig([], { PUBSUB_REDIS_ADDR: 'redis' }).redisUrl).toBe('redis://redis:6379');
    expect(loadConfig([], { PUBSUB_REDIS_ADDR: '10.0.0.2:7000' }).redisUrl).toBe('redis://10.0.0.2:7000');
  });

  it('--notify-jwt-secret / NOTIFY_JWT_SECRET and --notify-session-cookie / NOTIFY_SESSION_COOKIE', () => {
    const env = {
      NOTIFY_JWT_SECRET: 'from-env',
      NOTIFY_SESSION_COOKIE: 'sess',
      GREGOR_ALLOWED_ORIGINS: 'https://a',
    };
    expect(loadConfig([], env)).toMatchObject({ jwtSecret: 'from-env', authCookie: 'sess' });
    expect(
      loadConfig(['--notify-jwt-secret', 'from-flag', '--notify-session-cookie', 'c2'], env),
    ).toMatchObject({ jwtSecret: 'from-flag', authCookie: 'c2' });
  });

  it("Gregor's own names win when both are set", () => {
    const secret = 's'.repeat(40);
    const c = loadConfig(['--jwt-secret', secret, '--port', '7400'], {
      NOTIFY_JWT_SECRET: 'default',
      PORT: ':3000',
      PUBSUB_REDIS_ADDR: 'other',
      GREGOR_REDIS_URL: 'redis://mine:1',
    });
    expect(c).toMatchObject({ jwtSecret: secret, port: 7400, host: '127.0.0.1', redisUrl: 'redis://mine:1' });
  });

  it("PORT is ignored whole when Gregor's own host or port is set: it never widens a loopback Gregor", () => {
    const PORT = ':3000';
    expect(loadConfig(['--port', '7400'], { PORT })).toMatchObject({ host: '127.0.0.1', port: 7400 });
    expect(loadConfig([], { PORT, GREGOR_PORT: '7400' })).toMatchObject({ host: '127.0.0.1', port: 7400 });
    expect(loadConfig(['--host', '::1'], { PORT })).toMatchObject({ host: '::1', port: 7300 });
    expect(loadConfig([], { PORT, GREGOR_HOST: '10.0.0.1' })).toMatchObject({ host: '10.0.0.1', port: 7300 });
  });

  it("an alias turns Notify on: with no Redis setting, Redis is Notify's default redis:6379", () => {
    expect(loadConfig([], { NOTIFY_JWT_SECRET: 'default' }).redisUrl).toBe('redis://redis:6379');
  });

  it('a jwt-secret under 32 characters: refused without Notify, accepted with it', () => {
    expect(() => loadConfig(['--jwt-secret', 'default'], {})).toThrow(/at least 32 characters/);
    expect(loadConfig(['--jwt-secret', 'default', '--redis-url', 'redis://r:6379'], {}).jwtSecret).toBe(
      'default',
    );
    expect(loadConfig([], { NOTIFY_JWT_SECRET: 'default' }).jwtSecret).toBe('default');
  });

  it('gregor serve --help lists the aliases and the expiry setting', () => {
    const help = helpText();
    for (const name of [
      'PORT',
      'PUBSUB_REDIS_ADDR',
      '--notify-jwt-secret',
      'NOTIFY_JWT_SECRET',
      '--notify-session-cookie',
      'NOTIFY_SESSION_COOKIE',
      '--notify-close-at-expiry',
    ]) {
      expect(help).toContain(name);
    }
  });
});

describe.skipIf(!up)("Notify's default secret, in Notify mode", () => {
  it("starts with a loud warning and gregor_weak_jwt_secret 1; Notify's tokens work", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gregord-test-'));
    const warnings: string[] = [];
    const log = {
      error: () => {},
      info: () => {},
      warn: (_o: unknown, m?: string) => warnings.push(m ?? ''),
    };
    const gregor = await createGregor({
      settings: {
        port: 0,
        dataDir,
        jwtSecret: 'default',
        serviceSecret: SERVICE_SECRET,
        redisUrl: REDIS_URL,
        redisPrefix: `gregor-test-${fresh()}:`,
      },
      logger: log,
    });
    try {
      const url = await gregor.listen();
      expect(warnings.some((w) => /WEAK jwt-secret/.test(w))).toBe(true);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^gregor_weak_jwt_secret 1$/m);
      const id = fresh('u');
      const client = new NotifyClient(`${url.replace(/^http/, 'ws')}/notify/ws`, {
        authorization: `Bearer ${mint(payloadWith(JSON.stringify(id)), 'default')}`,
      });
      expect(await client.json(0)).toEqual({ kind: 'connect', userID: id });
      await client.close();
    } finally {
      await gregor.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
