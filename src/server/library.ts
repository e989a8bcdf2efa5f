import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import pino from 'pino';
import type { Engine } from '../core/state-machine.js';
import { GregorError } from '../protocol/errors.js';
import { Authenticator, loadJwks } from './auth.js';
import { type Config, flagName, loadConfig, MIN_JWT_SECRET, SETTINGS, weakJwtSecret } from './config.js';
import { openEngine } from './engine.js';
import { broadcaster } from './extensions/builtin/broadcaster.js';
import { compaction } from './extensions/builtin/compaction.js';
import { fanOutExtension } from './extensions/builtin/fan-out.js';
import { jwtAuth } from './extensions/builtin/jwt.js';
import { reminders } from './extensions/builtin/reminders.js';
import type { Extension } from './extensions/types.js';
import type { FanOut } from './fanout/fan-out.js';
import { openFanOut } from './fanout/open.js';
import { Gregord } from './gregord.js';
import { buildHttp, httpApi, notFound, routingOptions } from './http/index.js';
import { Notify, NotifySockets } from './notify/index.js';
import type { Logger } from './pipeline.js';
import { loadDevSecrets } from './secrets.js';
import { WebSocketGateway } from './websocket.js';

/** Settings by their camelCase names (`gregor serve --help`); durations in milliseconds. */
export type Settings = { readonly [K in keyof Config]?: Config[K] | undefined };

export interface GregorOptions {
  /** The rest take their defaults, as `gregor serve` would with no flags. Validated the same way. */
  readonly settings?: Settings;
  /** An opened storage engine, instead of the one the settings name. Gregor closes it. */
  readonly engine?: Engine;
  /** A fan-out backend, instead of the one the settings name. Gregor closes it. */
  readonly fanout?: FanOut;
  /** The embedder's extensions; their hooks run with the built-ins', by priority. */
  readonly extensions?: readonly Extension[];
  /** A logger (pino's, or anything with error/warn/info), or pino options. Default: pino at `logLevel`. */
  readonly logger?: Logger | pino.LoggerOptions;
}

/** Where Gregor's sockets are on a `node:http` server. */
export interface MountOptions {
  /** A path prefix for the sockets (`<prefix>/v1/ws`), e.g. `/gregor` when `handle` is mounted there. */
  readonly prefix?: string;
}

/**
 * A Gregor server as a library: the core, its extensions, and three ways to serve it — its own
 * HTTP server (`listen`, what `gregor serve` runs), a Fastify plugin for an app that has one
 * (`plugin`), or an attach to a plain `node:http` server, as Express apps have (`attach` for
 * the sockets, `handle` for the HTTP API).
 *
 * @example
 *   const gregor = await createGregor({ settings: { storage: 'memory' }, extensions: [audit] });
 *   await app.register(gregor.plugin);            // Fastify
 *   // or: gregor.attach(server); expressApp.use(gregor.handle);
 *   // or: const url = await gregor.listen({ port: 7300 });
 */
export class Gregor {
  readonly core: Gregord;
  readonly config: Config;
  /** True when user tokens are checked with the zero-config dev secret kept in the data dir. */
  readonly devKeys: boolean;
  readonly #notify: Notify | null;
  readonly #gateways: WebSocketGateway[] = [];
  readonly #apps: FastifyInstance[] = [];
  #handler: Promise<FastifyInstance> | null = null;
  #closing: Promise<void> | null = null;

  constructor(core: Gregord, notify: Notify | null, devKeys: boolean) {
    this.core = core;
    this.config = core.config;
    this.#notify = notify;
    this.devKeys = devKeys;
  }

  /**
   * A Fastify plugin: the HTTP API in its own encapsulated scope (its parsers and error handler
   * stay inside), the sockets on the app's server, `onListen` when the app listens, and a graceful
   * shutdown when the app closes. Register it with `{ prefix }` to mount it under a path.
   */
  get plugin(): FastifyPluginAsync {
    return async (app) => {
      this.#open();
      // app.prefix is the whole path, also when the plugin is registered inside another prefix.
      this.#serveSockets(app.server, app.prefix, false);
      await app.register(httpApi, { gregord: this.core });
      app.addHook('onListen', async () => this.core.start(urlOf(app.server)));
      app.addHook('preClose', async () => this.close());
    };
  }

  /**
   * Serves the sockets on an app's own `node:http` server (upgrades to other paths are left to
   * the app), and starts the loops when it listens. Pair it with `handle` for the HTTP API.
   */
  attach(server: Server, options: MountOptions = {}): void {
    this.#open();
    this.#serveSockets(server, options.prefix ?? '', false);
    const start = () => void this.core.start(urlOf(server));
    if (server.listening) start();
    else server.once('listening', start);
    server.once('close', () => {
      this.close().catch((e: unknown) => this.core.log.error({ err: e }, 'shutdown failed'));
    });
  }

  /**
   * The HTTP API as a `(req, res, next)` handler, for `node:http` and Express: Gregor's routes are
   * answered, anything else goes to `next` (a 404 without it).
   *
   * @example
   *   expressApp.use(gregor.handle);
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    if (this.#closing) {
      if (next) next();
      else res.writeHead(503).end();
      return;
    }
    this.#handler ??= this.#buildHandler();
    this.#handler.then(
      (app) => {
        (req as NextAware)[NEXT] = next;
        app.routing(req, res);
      },
      (e: unknown) => (next ? next(e) : res.destroy(e as Error)),
    );
  };

  /** Listens on Gregor's own HTTP server; resolves with its `http://host:port`. */
  async listen(options: { host?: string; port?: number } = {}): Promise<string> {
    this.#open();
    const app = buildHttp(this.core);
    this.#apps.push(app);
    this.#serveSockets(app.server, '', true);
    await app.listen({ host: options.host ?? this.config.host, port: options.port ?? this.config.port });
    const url = urlOf(app.server)!;
    await this.core.start(url);
    return url;
  }

  /**
   * Graceful shutdown, once: new devices are refused, connected ones closed with a retry code,
   * queued work drained, `onShutdown` run, fan-out and storage closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // The sockets are gone (their devices detached) before the lanes drain and onShutdown runs.
      await this.core.shutdown(async (code, reason) => {
        for (const g of this.#gateways) g.closeAll(code, reason);
        await Promise.all(this.#gateways.map((g) => g.terminateAfter(1000)));
      });
      this.#notify?.close();
      await Promise.all(this.#apps.map((a) => a.close()));
    })();
    return this.#closing;
  }

  /** A closed Gregor is not served again: its storage and fan-out are closed. */
  #open(): void {
    if (this.#closing) throw new GregorError('CLOSED', 'this Gregor was closed: create another');
  }

  /**
   * Serves Gregor's sockets on `server`. On a server of its own (`exclusive`) every other upgrade
   * is refused; on an app's, other paths are left to the app's listeners, and refused only when
   * there are none (a socket nobody answers would stay open for good).
   */
  #serveSockets(server: Server, basePath: string, exclusive: boolean): void {
    const notify = this.#notify ? new NotifySockets(this.core, this.#notify.channels) : null;
    const gateway = new WebSocketGateway(this.core, notify, { basePath, exclusive });
    this.#gateways.push(gateway);
    server.on('upgrade', (req, socket, head) =>
      gateway.handleUpgrade(req, socket, head, server.listenerCount('upgrade') > 1),
    );
  }

  /** A Fastify instance that never listens: `routing` hands it the requests of the app's server. */
  async #buildHandler(): Promise<FastifyInstance> {
    const app = Fastify({ logger: false, ...routingOptions(this.core) });
    // Not Gregor's route: handed to `next` before Fastify reads the body, which is the app's.
    app.addHook('onRequest', async (request, reply) => {
      const next = (request.raw as NextAware)[NEXT];
      if (!request.is404 || !next) return;
      reply.hijack();
      next();
    });
    app.setNotFoundHandler((request, reply) => notFound(this.core, request, reply));
    await app.register(httpApi, { gregord: this.core });
    await app.ready();
    this.#apps.push(app);
    return app;
  }
}

const NEXT = Symbol('gregor.next');
type NextAware = IncomingMessage & { [NEXT]?: ((err?: unknown) => void) | undefined };

/**
 * Creates a Gregor server: storage, fan-out and auth from the options (or the settings), the
 * built-in extensions (fan-out, broadcaster, JWT, reminders, compaction, the Notify bridge with
 * Redis) and the embedder's. Nothing listens until `listen`, `plugin` or `attach`.
 *
 * @example
 *   const gregor = await createGregor({ settings: { dataDir: './data' } });
 *   console.log(await gregor.listen({ port: 7300 }));
 */
export async function createGregor(options: GregorOptions = {}): Promise<Gregor> {
  const config = loadConfig(settingsToArgv(options.settings ?? {}), {});
  const { authenticator, devKeys } = await makeAuthenticator(config);
  const log = isLogger(options.logger) ? options.logger : pino(options.logger ?? { level: config.logLevel });
  // What is opened here is closed again if anything after it fails (a bad extension, say).
  const opened: (() => unknown)[] = [];
  let core: Gregord;
  let notify: Notify | null = null;
  try {
    const engine = options.engine ?? (await openEngine(config));
    opened.push(() => engine.close());
    const fanout = options.fanout ?? openFanOut(config, log);
    opened.push(() => fanout.close());
    notify = config.redisUrl ? new Notify({ url: config.redisUrl, log }) : null;
    opened.push(() => notify?.close());
    const extensions: Extension[] = [
      fanOutExtension(fanout),
      broadcaster(),
      jwtAuth(authenticator),
      reminders(engine, { nodeId: config.nodeId, intervalMs: config.reminderIntervalMs }),
      ...(config.compactAfterMs > 0 ? [compaction(engine, config.compactAfterMs)] : []),
      ...(notify ? [notify.bridge] : []),
      ...(options.extensions ?? []),
    ];
    core = new Gregord({ config, engine, fanout, log, extensions });
  } catch (e) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => {});
    throw e;
  }
  if (weakJwtSecret(config)) {
    core.metrics.weakJwtSecret.set(1);
    log.warn(
      { length: config.jwtSecret?.length },
      `WEAK jwt-secret: shorter than ${MIN_JWT_SECRET} characters, accepted only for Notify compatibility; anyone who guesses it can sign tokens for any user: re-key your token issuers (docs/notify.md)`,
    );
  }
  if (notify && devKeys) {
    log.warn(
      {},
      'Notify compatibility is on but no jwt-secret is set: Notify tokens are refused. A Notify that ran on its default secret needs NOTIFY_JWT_SECRET=default (docs/notify.md)',
    );
  }
  return new Gregor(core, notify, devKeys);
}

/** Settings as the flags `gregor serve` takes, so they are checked by the same code. */
export function settingsToArgv(settings: Settings): string[] {
  const argv: string[] = [];
  for (const s of SETTINGS) {
    const value = settings[s.key];
    if (value === undefined || value === null) continue;
    argv.push(`--${flagName(s.key)}`, Array.isArray(value) ? value.join(',') : String(value));
  }
  const unknown = Object.keys(settings).filter((k) => !SETTINGS.some((s) => s.key === k));
  if (unknown.length > 0) argv.push(`--${flagName(unknown[0]!)}`, '?');
  return argv;
}

async function makeAuthenticator(
  config: Config,
): Promise<{ authenticator: Authenticator; devKeys: boolean }> {
  const keyless = !config.jwtSecret && !config.jwtPublicKey && !config.jwtJwks;
  const dev = keyless || !config.serviceSecret ? await loadDevSecrets(config.dataDir) : null;
  const authenticator = new Authenticator({
    userSecret: config.jwtSecret ?? (keyless ? dev!.jwtSecret : null),
    userPublicKeyPem: config.jwtPublicKey ? await readFile(config.jwtPublicKey, 'utf8') : null,
    jwks: config.jwtJwks ? await loadJwks(config.jwtJwks) : null,
    serviceSecret: config.serviceSecret ?? dev!.serviceSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    leewaySeconds: config.jwtLeewaySeconds,
  });
  return { authenticator, devKeys: keyless };
}

function isLogger(l: GregorOptions['logger']): l is Logger {
  return typeof (l as Logger | undefined)?.error === 'function';
}

function urlOf(server: Server): string | null {
  const address = server.address() as AddressInfo | string | null;
  if (!address || typeof address === 'string') return null;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
