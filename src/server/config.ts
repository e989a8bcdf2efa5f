import { hostname } from 'node:os';
import { GregorError } from '../protocol/errors.js';
import { NATS_PREFIX } from './fanout/nats/subjects.js';
import { NOTIFY_ALIASES, NOTIFY_DEFAULT_REDIS, notifyAliases } from './notify-aliases.js';

/** Every setting of gregord: a flag `--name` and an environment variable `GREGOR_NAME` (seed 003). */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly storage: 'sqlite' | 'memory' | 'postgres';
  readonly sqlitePath: string | null;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly postgresUrl: string | null;
  readonly postgresShards: readonly string[];
  readonly jwtSecret: string | null;
  readonly jwtPublicKey: string | null;
  readonly jwtJwks: string | null;
  readonly jwtIssuer: string | null;
  readonly jwtAudience: string | null;
  readonly jwtLeewaySeconds: number;
  readonly serviceSecret: string | null;
  readonly authCookie: string | null;
  readonly allowedOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly maxBufferBytes: number;
  readonly heartbeatMs: number;
  readonly authTimeoutMs: number;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  readonly maxDevicesPerUser: number;
  readonly maxConnections: number;
  readonly maxPendingAuth: number;
  readonly maxPendingAuthPerAddress: number;
  readonly requestTimeoutMs: number;
  readonly syncMessageLimit: number;
  readonly reminderIntervalMs: number;
  readonly compactAfterMs: number;
  readonly nodeId: string;
  /** How nodes tell each other about messages; chosen from the other settings when not given. */
  readonly fanout: 'memory' | 'redis' | 'redis-cluster' | 'nats';
  readonly redisUrl: string | null;
  readonly redisNodes: readonly string[];
  readonly redisPrefix: string;
  /** On `/notify/ws` only: close a socket when its token expires (Notify checks `exp` at connect only). */
  readonly notifyCloseAtExpiry: boolean;
  /** Set whenever fanout=nats. */
  readonly natsUrl: string | null;
  readonly natsPrefix: string;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
}

type Kind = 'string' | 'int' | 'duration' | 'list' | 'path' | 'bool';
interface Setting {
  readonly key: keyof Config;
  readonly kind: Kind;
  readonly default: string | null;
  readonly doc: string;
  readonly choices?: readonly string[];
  readonly min?: number;
}

/** Where a NATS server listens out of the box. */
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The settings, in the order `--help` shows them. Each limit says why it exists. */
export const SETTINGS: readonly Setting[] = [
  { key: 'host', kind: 'string', default: '127.0.0.1', doc: 'address to listen on (0.0.0.0 for all)' },
  { key: 'port', kind: 'int', default: '7300', min: 0, doc: 'TCP port (0 picks a free one)' },
  {
    key: 'dataDir',
    kind: 'path',
    default: './data',
    doc: 'directory for the SQLite file and the dev secret',
  },
  {
    key: 'storage',
    kind: 'string',
    default: 'sqlite',
    choices: ['sqlite', 'memory', 'postgres'],
    doc: 'storage engine',
  },
  { key: 'sqlitePath', kind: 'path', default: null, doc: 'SQLite file (default: <data-dir>/gregor.sqlite)' },
  {
    key: 'sqliteSynchronous',
    kind: 'string',
    default: 'full',
    choices: ['full', 'normal'],
    doc: 'full: an fsync per commit, acknowledged = on disk; normal: survives a process crash, not power loss',
  },
  { key: 'postgresUrl', kind: 'string', default: null, doc: 'PostgreSQL URL (storage=postgres)' },
  {
    key: 'postgresShards',
    kind: 'list',
    default: null,
    doc: 'comma-separated PostgreSQL URLs, one per shard',
  },
  {
    key: 'jwtSecret',
    kind: 'string',
    default: null,
    doc: 'HS256 secret for user tokens (default: a dev secret kept in the data dir)',
  },
  {
    key: 'jwtPublicKey',
    kind: 'path',
    default: null,
    doc: 'PEM file with the RS/ES/EdDSA public key for user tokens',
  },
  { key: 'jwtJwks', kind: 'string', default: null, doc: 'JWKS for user tokens: a file path or an https URL' },
  { key: 'jwtIssuer', kind: 'string', default: null, doc: 'required "iss" claim, if set' },
  { key: 'jwtAudience', kind: 'string', default: null, doc: 'required "aud" claim, if set' },
  { key: 'jwtLeewaySeconds', kind: 'int', default: '30', min: 0, doc: 'clock skew allowed on exp/nbf' },
  {
    key: 'serviceSecret',
    kind: 'string',
    default: null,
    doc: 'HS256 secret for service tokens that act for any user (default: dev secret + ":service")',
  },
  {
    key: 'authCookie',
    kind: 'string',
    default: null,
    doc: 'cookie holding the user token; enables the Origin check',
  },
  {
    key: 'allowedOrigins',
    kind: 'list',
    default: null,
    doc: 'Origins allowed to open WebSockets that the auth-cookie authenticates (required with auth-cookie); sockets with a token in a header or the URL are not checked',
  },
  {
    key: 'maxMessageBytes',
    kind: 'int',
    default: String(1024 * 1024),
    min: 1024,
    doc: 'largest frame or HTTP body: bounds what one message costs',
  },
  {
    key: 'maxBufferBytes',
    kind: 'int',
    default: String(4 * 1024 * 1024),
    min: 1024,
    doc: 'send buffer per device; a device past it is cut off and resyncs',
  },
  {
    key: 'heartbeatMs',
    kind: 'duration',
    default: '30s',
    min: 100,
    doc: 'ping interval; no pong within it closes the connection',
  },
  {
    key: 'authTimeoutMs',
    kind: 'duration',
    default: '10s',
    min: 100,
    doc: 'time to authenticate before the socket is closed',
  },
  {
    key: 'rateLimitPerSecond',
    kind: 'int',
    default: '200',
    min: 1,
    doc: 'client frames per second per connection (sustained)',
  },
  { key: 'rateLimitBurst', kind: 'int', default: '400', min: 1, doc: 'client frames allowed in a burst' },
  {
    key: 'maxDevicesPerUser',
    kind: 'int',
    default: '64',
    min: 1,
    doc: "connections per user: bounds one user's fan-out cost",
  },
  {
    key: 'maxConnections',
    kind: 'int',
    default: '100000',
    min: 1,
    doc: 'authenticated connections per process: bounds memory',
  },
  {
    key: 'maxPendingAuth',
    kind: 'int',
    default: '10000',
    min: 1,
    doc: 'sockets still authenticating, per process: their own budget, so they never keep users out',
  },
  {
    key: 'maxPendingAuthPerAddress',
    kind: 'int',
    default: '32',
    min: 1,
    doc: 'sockets still authenticating from one IP address: one client cannot take the whole budget',
  },
  {
    key: 'requestTimeoutMs',
    kind: 'duration',
    default: '30s',
    min: 100,
    doc: 'time to receive a whole HTTP request: a client that sends its body byte by byte is cut off',
  },
  {
    key: 'syncMessageLimit',
    kind: 'int',
    default: '1000',
    min: 1,
    doc: 'past this many missed messages a device gets the full state',
  },
  {
    key: 'reminderIntervalMs',
    kind: 'duration',
    default: '1s',
    min: 10,
    doc: 'how often due reminders are claimed',
  },
  {
    key: 'compactAfterMs',
    kind: 'duration',
    default: '30d',
    min: 0,
    doc: 'history older than this is compacted hourly (0: never)',
  },
  {
    key: 'nodeId',
    kind: 'string',
    default: null,
    doc: "this process's name in a fleet (default: host:pid:random)",
  },
  {
    key: 'fanout',
    kind: 'string',
    default: null,
    choices: ['memory', 'redis', 'redis-cluster', 'nats'],
    doc: 'fan-out between nodes; default: redis-cluster with redis-nodes, redis with redis-url, nats with nats-url, else memory (one node)',
  },
  {
    key: 'redisUrl',
    kind: 'string',
    default: null,
    doc: 'Redis for fan-out between nodes (a fleet) and the Notify bridge; unset: one node',
  },
  {
    key: 'redisNodes',
    kind: 'list',
    default: null,
    doc: 'Redis Cluster seed nodes (host:port,…): sharded pub/sub (SPUBLISH/SSUBSCRIBE)',
  },
  { key: 'redisPrefix', kind: 'string', default: 'gregor:', doc: 'prefix of the per-user Redis channels' },
  {
    key: 'notifyCloseAtExpiry',
    kind: 'bool',
    default: 'false',
    choices: ['true', 'false'],
    doc: 'close /notify/ws sockets when their token expires (false: checked at connect only, as Notify); /v1/ws always closes',
  },
  {
    key: 'natsUrl',
    kind: 'string',
    default: null,
    doc: `NATS server for fan-out between nodes (fanout=nats; default there: ${DEFAULT_NATS_URL})`,
  },
  {
    key: 'natsPrefix',
    kind: 'string',
    default: 'gregor',
    doc: 'prefix of the NATS subjects (<prefix>.u.<user>, <prefix>.resync): tokens joined by "."',
  },
  {
    key: 'logLevel',
    kind: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'log level',
  },
  {
    key: 'shutdownGraceMs',
    kind: 'duration',
    default: '10s',
    min: 0,
    doc: 'time to drain on SIGTERM before closing',
  },
];

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `jwtSecret` → `--jwt-secret` and `GREGOR_JWT_SECRET`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
export function envName(key: string): string {
  return `GREGOR_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Reads the configuration: flags win over environment variables, which win over defaults.
 * Throws GREGOR_ERR_INVALID_CONFIG naming the setting, its flag and its variable.
 *
 * @example
 *   const config = loadConfig(['--port', '8080'], process.env);
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const flags = parseFlags(argv);
  const ownListen = ['host', 'port'].some((k) => flags.has(k) || env[envName(k)] !== undefined);
  const { aliases, notify } = notifyAliases(flags, env, ownListen);
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const raw = flags.get(flagName(s.key)) ?? env[envName(s.key)] ?? aliases.get(s.key) ?? s.default;
    flags.delete(flagName(s.key));
    out[s.key] = raw === null || raw === '' ? (s.kind === 'list' ? [] : null) : convert(s, raw);
  }
  const unknown = [...flags.keys()];
  if (unknown.length > 0) bad(`unknown flag --${unknown[0]} (see --help)`);
  if (notify && !out.redisUrl && (out.redisNodes as string[]).length === 0 && !out.natsUrl) {
    out.redisUrl = NOTIFY_DEFAULT_REDIS;
  }
  return crossCheck(out as unknown as Config);
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) bad(`unexpected argument ${JSON.stringify(arg)}: settings are --name value`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) bad(`${arg} needs a value`);
      flags.set(arg.slice(2), value);
      i++;
    }
  }
  return flags;
}

function convert(s: Setting, raw: string): unknown {
  const name = `${s.key} (--${flagName(s.key)} / ${envName(s.key)})`;
  if (s.choices && !s.choices.includes(raw))
    bad(`${name}: ${JSON.stringify(raw)} is not one of ${s.choices.join(', ')}`);
  switch (s.kind) {
    case 'int': {
      if (!/^\d+$/.test(raw)) bad(`${name}: ${JSON.stringify(raw)} is not a whole number`);
      return atLeast(s, name, Number(raw));
    }
    case 'duration': {
      const m = DURATION.exec(raw);
      if (!m) bad(`${name}: ${JSON.stringify(raw)} is not a duration like 500ms, 30s, 5m, 1h, 30d`);
      return atLeast(s, name, Math.round(Number(m[1]) * UNIT[m[2] ?? 'ms']!), true);
    }
    case 'bool':
      return raw === 'true';
    case 'list':
      return raw
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function atLeast(s: Setting, name: string, value: number, zeroOk = false): number {
  if (s.min !== undefined && value < s.min && !(zeroOk && value === 0))
    bad(`${name}: ${value} is below the minimum ${s.min}`);
  if (s.key === 'port' && value > 65535) bad(`${name}: ${value} is not a TCP port`);
  return value;
}

function crossCheck(c: Config): Config {
  // Reminder leases and fan-out tell nodes apart by this name: never leave it empty.
  if (!c.nodeId)
    (c as { nodeId: string }).nodeId =
      `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  if (c.storage === 'postgres' && !c.postgresUrl && c.postgresShards.length === 0) {
    bad('storage=postgres needs postgres-url (--postgres-url / GREGOR_POSTGRES_URL) or postgres-shards');
  }
  checkFanOut(c);
  if (c.authCookie && c.allowedOrigins.length === 0) {
    bad(
      'auth-cookie needs allowed-origins (--allowed-origins / GREGOR_ALLOWED_ORIGINS): cookies without an Origin check let any site open a socket as the user',
    );
  }
  if ([c.jwtSecret, c.jwtPublicKey, c.jwtJwks].filter(Boolean).length > 1) {
    bad('set only one of jwt-secret, jwt-public-key, jwt-jwks');
  }
  // Notify accepted any secret: with Notify compatibility a short one starts, with a warning
  // (`weakJwtSecret`), so a Notify deployment need not re-key its token issuers.
  if (weakJwtSecret(c) && !c.redisUrl) {
    bad(
      'jwt-secret: use at least 32 characters (a shorter one is accepted only with Notify compatibility, redis-url: docs/notify.md)',
    );
  }
  if (c.serviceSecret !== null && c.serviceSecret.length < 32)
    bad('service-secret: use at least 32 characters');
  return c;
}

/**
 * Picks the fan-out backend when it is not given, as before the setting existed (redis-nodes wins
 * over redis-url, which the Notify bridge may use as well), and checks it has what it needs.
 */
function checkFanOut(c: Config): void {
  const w = c as { fanout: Config['fanout']; natsUrl: string | null };
  if (w.fanout === null) {
    if (c.natsUrl && (c.redisUrl || c.redisNodes.length > 0)) {
      bad(
        'nats-url and redis-url (or redis-nodes) are both set: choose with fanout (--fanout / GREGOR_FANOUT)',
      );
    }
    w.fanout =
      c.redisNodes.length > 0 ? 'redis-cluster' : c.redisUrl ? 'redis' : c.natsUrl ? 'nats' : 'memory';
  }
  if (c.fanout === 'redis' && !c.redisUrl)
    bad('fanout=redis needs redis-url (--redis-url / GREGOR_REDIS_URL)');
  if (c.fanout === 'redis-cluster' && c.redisNodes.length === 0) {
    bad('fanout=redis-cluster needs redis-nodes (--redis-nodes / GREGOR_REDIS_NODES)');
  }
  if (c.fanout === 'nats' && !c.natsUrl) w.natsUrl = DEFAULT_NATS_URL;
  if (!NATS_PREFIX.test(c.natsPrefix)) {
    bad(
      `nats-prefix: ${JSON.stringify(c.natsPrefix)} is not NATS subject tokens (A-Z a-z 0-9 _ - joined by ".")`,
    );
  }
}

/** Shorter user secrets are accepted only for Notify's existing tokens. */
export const MIN_JWT_SECRET = 32;

/** True when the HMAC secret for user tokens is shorter than 32 characters (Notify mode only). */
export function weakJwtSecret(c: Pick<Config, 'jwtSecret'>): boolean {
  return c.jwtSecret !== null && c.jwtSecret.length < MIN_JWT_SECRET;
}

function bad(message: string): never {
  throw new GregorError('INVALID_CONFIG', message);
}

/** `--help` text: every setting with its flag, variable, default and purpose. */
export function helpText(): string {
  const lines = SETTINGS.map(
    (s) =>
      `  --${flagName(s.key).padEnd(22)} ${envName(s.key).padEnd(30)} ${(s.default ?? '').padEnd(10)} ${s.doc}`,
  );
  return [
    'gregor serve — the Gregor notification server',
    '',
    `  ${'flag'.padEnd(24)} ${'environment'.padEnd(30)} ${'default'.padEnd(10)} meaning`,
    ...lines,
    '',
    'Flags win over environment variables. Durations: 500ms, 30s, 5m, 1h, 30d.',
    '',
    "Notify's names (docs/notify.md), read when Gregor's own are not set:",
    ...NOTIFY_ALIASES.map((a) => `  ${a.names.join(' / ').padEnd(47)} ${a.sets}`),
  ].join('\n');
}
