#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GregorError, isGregorError } from '../protocol/errors.js';
import { parseTimeOrOffset } from '../protocol/time.js';
import { id } from '../protocol/validate.js';
import { helpText, loadConfig, MIN_JWT_SECRET, weakJwtSecret } from '../server/config.js';
import { createGregor } from '../server/library.js';
import {
  findDataDir,
  makeToken,
  refusedHint,
  type SigningSecrets,
  serviceHeaders,
  signingSecrets,
} from './tokens.js';
import { Watcher } from './watch.js';

const USAGE = `gregor — the Gregor notification server and its tools

  gregor serve [settings]                 run the server (gregor serve --help lists every setting)
  gregor token <uid> [--device D] [--ttl 24h] [--service]
                                          print a token signed with the configured or dev secret
  gregor send <uid> <json | ->            inject a message (seed 002's JSON) for a user
  gregor state <uid> [--device D] [--at T]
                                          print a user's state (T: Unix seconds, ISO 8601, or -1h)
  gregor watch <uid> [--device D] [--ttl 5m]
                                          connect as a device and print every frame; reconnects
                                          with a fresh token (lifetime --ttl) when one expires

Common: --url (GREGOR_URL, default http://127.0.0.1:7300), --data-dir (GREGOR_DATA_DIR, default ./data)`;

const TTL = /^(\d+)(s|m|h|d)$/;
const TTL_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'token':
      return token(rest);
    case 'send':
      return send(rest);
    case 'state':
      return state(rest);
    case 'watch':
      return watch(rest);
    case undefined:
    case '--help':
    case 'help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new GregorError('INVALID_ARGUMENT', `unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

async function serve(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log(helpText());
    return 0;
  }
  const config = loadConfig(args, process.env);
  const gregor = await createGregor({ settings: config });
  const url = await gregor.listen();
  const where =
    config.storage === 'sqlite'
      ? `sqlite at ${config.sqlitePath ?? `${config.dataDir}/gregor.sqlite`}`
      : config.storage;
  const ws = `${url.replace(/^http/, 'ws')}/v1/ws`;
  console.log(`gregord listening on ${url} (storage: ${where})`);
  if (weakJwtSecret(config)) {
    console.error(
      `gregor: WARNING: jwt-secret is shorter than ${MIN_JWT_SECRET} characters; accepted for Notify compatibility only (docs/notify.md)`,
    );
  }
  if (gregor.devKeys)
    console.log(`  dev secrets in ${config.dataDir}/secrets.json (set GREGOR_JWT_SECRET for production)`);
  if (gregor.devKeys && config.redisUrl) {
    console.error(
      'gregor: WARNING: Notify compatibility is on but no jwt-secret is set: Notify tokens are refused (a Notify on its default secret needs NOTIFY_JWT_SECRET=default; docs/notify.md)',
    );
  }
  console.log(`  get a token:  npm run gregor -- token alice --device laptop`);
  console.log(`  connect:      ${ws}  then send {"type":"auth","token":"<token>"} and {"type":"sync"}`);
  console.log(
    `  send:         npm run gregor -- send alice '{"system":"gregor","body":{"create":{"hello":{"category":"greeting","body":"Hi"}}}}'`,
  );
  console.log(`  watch:        npm run gregor -- watch alice`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    // Ctrl-C reaches the server twice under `npm start` (from the terminal, and forwarded by npm):
    // the first signal drains, later ones must not kill the drain half-way.
    const stop = () => {
      if (stopping) return;
      stopping = true;
      console.log('shutting down: closing devices with a retry code, draining');
      void gregor.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

function options(args: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}) {
  const { values, positionals } = arg(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'data-dir': { type: 'string' },
        device: { type: 'string' },
        ...extra,
      },
    }),
  );
  const uid = positionals[0];
  if (!uid) throw new GregorError('INVALID_ARGUMENT', 'name the user: gregor <command> <uid>');
  return {
    values: values as Record<string, string | boolean | undefined>,
    positionals,
    uid: arg(() => id(uid, 'uid')),
    url: String(values.url ?? process.env.GREGOR_URL ?? 'http://127.0.0.1:7300').replace(/\/$/, ''),
    dataDir: findDataDir(
      (values['data-dir'] as string | undefined) ?? process.env.GREGOR_DATA_DIR,
      process.cwd(),
    ),
  };
}

function arg<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new GregorError('INVALID_ARGUMENT', (e as Error).message);
  }
}

async function token(args: string[]): Promise<number> {
  const o = options(args, { ttl: { type: 'string' }, service: { type: 'boolean' } });
  const ttlSeconds = ttlOption(o.values.ttl, '24h');
  const secrets = await secretsFor(o.dataDir);
  const device = o.values.device === undefined ? undefined : arg(() => id(o.values.device, 'device'));
  console.log(
    await makeToken({
      secret: o.values.service ? secrets.service : secrets.user,
      uid: o.uid,
      ...(device ? { device } : {}),
      service: Boolean(o.values.service),
      ttlSeconds,
    }),
  );
  return 0;
}

function ttlOption(value: string | boolean | undefined, fallback: string): number {
  const ttl = TTL.exec(String(value ?? fallback));
  if (!ttl) throw new GregorError('INVALID_ARGUMENT', '--ttl: expected a duration like 30m, 24h, 7d');
  return Number(ttl[1]) * TTL_SECONDS[ttl[2]!]!;
}

/** The secrets to sign with; says on stderr which ones, so a mismatch with the server is plain. */
async function secretsFor(dataDir: string): Promise<SigningSecrets> {
  const secrets = await signingSecrets(process.env, dataDir);
  if (secrets.source !== 'environment')
    console.error(`gregor: signing with the dev secrets in ${secrets.source}`);
  return secrets;
}

/** Prints an HTTP answer; a refused token gets a hint about which secrets were used. */
async function report(response: Response, secrets: SigningSecrets, pretty = false): Promise<number> {
  const text = await response.text();
  console.log(pretty && response.ok ? JSON.stringify(JSON.parse(text), null, 2) : text);
  if (response.status === 401) console.error(refusedHint(secrets));
  return response.ok ? 0 : 1;
}

async function send(args: string[]): Promise<number> {
  const o = options(args);
  const text = o.positionals[1] === '-' ? readFileSync(0, 'utf8') : o.positionals[1];
  if (!text)
    throw new GregorError(
      'INVALID_ARGUMENT',
      'give the message as JSON, or - to read it from standard input',
    );
  const secrets = await secretsFor(o.dataDir);
  const response = await fetch(`${o.url}/v1/users/${o.uid}/messages`, {
    method: 'POST',
    headers: await serviceHeaders(secrets),
    body: text,
  });
  return report(response, secrets);
}

async function state(args: string[]): Promise<number> {
  const o = options(args, { at: { type: 'string' } });
  const query = new URLSearchParams();
  if (o.values.device) query.set('device', String(o.values.device));
  if (o.values.at) {
    arg(() => parseTimeOrOffset(String(o.values.at), 'at'));
    query.set('at', String(o.values.at));
  }
  const secrets = await secretsFor(o.dataDir);
  const response = await fetch(`${o.url}/v1/users/${o.uid}/state?${query}`, {
    headers: await serviceHeaders(secrets),
  });
  return report(response, secrets, true);
}

async function watch(args: string[]): Promise<number> {
  const o = options(args, { ttl: { type: 'string' } });
  const ttlSeconds = ttlOption(o.values.ttl, '5m');
  const device = String(o.values.device ?? `watch-${process.pid}`);
  const url = `${o.url.replace(/^http/, 'ws')}/v1/ws?uid=${encodeURIComponent(o.uid)}&device=${encodeURIComponent(device)}`;
  const secrets = await secretsFor(o.dataDir);
  const watcher = new Watcher(url, secrets, ttlSeconds);
  process.once('SIGINT', () => watcher.stop());
  return watcher.run();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isGregorError(e)) console.error(`${e.code}: ${e.message}`);
    else console.error(`error: ${(e as Error).message}`);
    process.exit(isGregorError(e, 'INVALID_ARGUMENT') || isGregorError(e, 'INVALID_CONFIG') ? 2 : 1);
  },
);
