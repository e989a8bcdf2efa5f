import { describe, expect, it } from 'vitest';
import { envName, flagName, helpText, loadConfig, SETTINGS } from '../../src/server/config.js';

describe('configuration', () => {
  it('every setting is a flag and an environment variable, listed in --help', () => {
    const help = helpText();
    for (const s of SETTINGS) {
      expect(help).toContain(`--${flagName(s.key)}`);
      expect(help).toContain(envName(s.key));
    }
    expect(flagName('jwtSecret')).toBe('jwt-secret');
    expect(envName('jwtSecret')).toBe('GREGOR_JWT_SECRET');
  });

  it('flags win over the environment, which wins over defaults', () => {
    expect(loadConfig([], {}).port).toBe(7300);
    expect(loadConfig([], { GREGOR_PORT: '8000' }).port).toBe(8000);
    expect(loadConfig(['--port', '9000'], { GREGOR_PORT: '8000' }).port).toBe(9000);
    // Notify's PORT is only a fallback: with Gregor's own port set it is ignored, host included.
    expect(loadConfig(['--port', '7400'], { PORT: ':3000' })).toMatchObject({
      host: '127.0.0.1',
      port: 7400,
    });
    expect(loadConfig(['--heartbeat-ms=2m'], {}).heartbeatMs).toBe(120_000);
    expect(loadConfig([], { GREGOR_ALLOWED_ORIGINS: 'https://a, https://b' }).allowedOrigins).toEqual([
      'https://a',
      'https://b',
    ]);
  });

  it('fan-out: chosen from the other settings as before the setting existed, or given', () => {
    const pick = (argv: string[], env: Record<string, string> = {}) => {
      const c = loadConfig(argv, env);
      return { fanout: c.fanout, natsUrl: c.natsUrl, natsPrefix: c.natsPrefix };
    };
    expect(pick([])).toEqual({ fanout: 'memory', natsUrl: null, natsPrefix: 'gregor' });
    expect(pick(['--redis-url', 'redis://r']).fanout).toBe('redis');
    expect(pick(['--redis-nodes', 'a:1,b:2']).fanout).toBe('redis-cluster');
    // Both, as before: the cluster fans out, and redis-url serves the Notify bridge.
    expect(pick(['--redis-nodes', 'a:1', '--redis-url', 'redis://r']).fanout).toBe('redis-cluster');
    expect(pick(['--nats-url', 'nats://n:4222'])).toMatchObject({ fanout: 'nats', natsUrl: 'nats://n:4222' });
    expect(pick(['--fanout', 'nats'])).toMatchObject({ fanout: 'nats', natsUrl: 'nats://127.0.0.1:4222' });
    expect(pick(['--fanout', 'nats', '--redis-url', 'redis://r']).fanout).toBe('nats');
    expect(pick([], { GREGOR_FANOUT: 'memory', GREGOR_REDIS_URL: 'redis://r' }).fanout).toBe('memory');
    expect(pick(['--fanout', 'nats', '--nats-prefix', 'acme.gregor']).natsPrefix).toBe('acme.gregor');
  });

  it('refuses invalid settings with a message naming the setting, its flag and its variable', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--port', 'eighty'], {}, /port \(--port \/ GREGOR_PORT\): "eighty" is not a whole number/],
      [['--port', '70000'], {}, /is not a TCP port/],
      [[], { GREGOR_STORAGE: 'mysql' }, /storage .*"mysql" is not one of sqlite, memory, postgres/],
      [['--heartbeat-ms', 'soon'], {}, /heartbeatMs .* is not a duration/],
      [['--storage', 'postgres'], {}, /storage=postgres needs postgres-url/],
      [['--auth-cookie', 'sid'], {}, /auth-cookie needs allowed-origins/],
      [['--jwt-secret', 'short'], {}, /jwt-secret: use at least 32 characters/],
      [['--nope', '1'], {}, /unknown flag --nope/],
      [['--fanout', 'kafka'], {}, /fanout .*"kafka" is not one of memory, redis, redis-cluster, nats/],
      [['--fanout', 'redis'], {}, /fanout=redis needs redis-url/],
      [
        ['--fanout', 'redis-cluster', '--redis-url', 'redis://r'],
        {},
        /fanout=redis-cluster needs redis-nodes/,
      ],
      [['--nats-url', 'nats://n', '--redis-url', 'redis://r'], {}, /both set: choose with fanout/],
      [['--fanout', 'nats', '--nats-prefix', 'a.*'], {}, /nats-prefix: "a\.\*" is not NATS subject tokens/],
      [['--port'], {}, /--port needs a value/],
      [['serve'], {}, /unexpected argument "serve"/],
    ];
    for (const [argv, env, message] of cases) {
      expect(() => loadConfig(argv, env)).toThrow(
        expect.objectContaining({
          code: 'GREGOR_ERR_INVALID_CONFIG',
          message: expect.stringMatching(message),
        }),
      );
    }
  });
});
