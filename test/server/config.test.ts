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
    expect(loadConfig(['--heartbeat-ms=2m'], {}).heartbeatMs).toBe(120_000);
    expect(loadConfig([], { GREGOR_ALLOWED_ORIGINS: 'https://a, https://b' }).allowedOrigins).toEqual([
      'https://a',
      'https://b',
    ]);
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
