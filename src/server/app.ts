import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Authenticator, loadJwks } from './auth.js';
import type { Config } from './config.js';
import { openEngine } from './engine.js';
import { Gregord } from './gregord.js';
import { buildHttp } from './http.js';
import { Notify } from './notify/index.js';
import type { Publisher } from './publisher.js';
import { RedisPublisher } from './pubsub/redis-publisher.js';
import { loadDevSecrets } from './secrets.js';
import { WebSocketGateway } from './websocket.js';

export interface RunningServer {
  readonly gregord: Gregord;
  readonly http: FastifyInstance;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** True when user tokens are checked with the zero-config dev secret kept in the data dir. */
  readonly devKeys: boolean;
  stop(): Promise<void>;
}

/**
 * Starts gregord: storage, auth, the core, HTTP and WebSocket. `stop()` is graceful: new devices
 * are refused, connected ones closed with a retry code, queued work drained, storage closed.
 *
 * @example
 *   const server = await startServer(loadConfig([], process.env));
 *   console.log(server.url);
 */
export async function startServer(
  config: Config,
  options: { logger?: pino.LoggerOptions; publisher?: Publisher } = {},
): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const keyless = !config.jwtSecret && !config.jwtPublicKey && !config.jwtJwks;
  const dev = keyless || !config.serviceSecret ? await loadDevSecrets(config.dataDir) : null;
  const auth = new Authenticator({
    userSecret: config.jwtSecret ?? (keyless ? dev!.jwtSecret : null),
    userPublicKeyPem: config.jwtPublicKey ? await readFile(config.jwtPublicKey, 'utf8') : null,
    jwks: config.jwtJwks ? await loadJwks(config.jwtJwks) : null,
    serviceSecret: config.serviceSecret ?? dev!.serviceSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    leewaySeconds: config.jwtLeewaySeconds,
  });
  const engine = await openEngine(config);
  const log = pino(options.logger ?? { level: config.logLevel });
  const notify = config.redisUrl ? new Notify({ url: config.redisUrl, log }) : null;
  const base =
    options.publisher ??
    (config.redisUrl || config.redisNodes.length > 0
      ? new RedisPublisher({
          url: config.redisUrl,
          nodes: config.redisNodes,
          prefix: config.redisPrefix,
          nodeId: config.nodeId,
          log,
        })
      : undefined);
  const publisher = base && notify ? notify.wrap(base) : base;
  const gregord = new Gregord({ config, engine, auth, log, ...(publisher ? { publisher } : {}) });
  const app = buildHttp(gregord);
  const gateway = new WebSocketGateway(gregord, notify?.attach(gregord) ?? null);
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await app.listen({ host: config.host, port: config.port });
  gregord.start();
  const port = (app.server.address() as AddressInfo).port;
  let stopping: Promise<void> | null = null;
  return {
    gregord,
    http: app,
    port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    devKeys: keyless,
    stop: () => {
      stopping ??= (async () => {
        await gregord.shutdown((code, reason) => gateway.closeAll(code, reason));
        await gateway.terminateAfter(1000);
        await app.close();
        notify?.close();
      })();
      return stopping;
    },
  };
}
