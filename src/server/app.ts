import type pino from 'pino';
import type { Config } from './config.js';
import type { FanOut } from './fanout/fan-out.js';
import type { Gregord } from './gregord.js';
import { createGregor, type Gregor, type Settings } from './library.js';

export interface RunningServer {
  readonly gregor: Gregor;
  readonly gregord: Gregord;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** True when user tokens are checked with the zero-config dev secret kept in the data dir. */
  readonly devKeys: boolean;
  stop(): Promise<void>;
}

/**
 * Starts gregord as `gregor serve` does: the library on its own HTTP server. `stop()` is graceful:
 * new devices are refused, connected ones closed with a retry code, queued work drained, storage
 * closed.
 *
 * @example
 *   const server = await startServer(loadConfig([], process.env));
 *   console.log(server.url);
 */
export async function startServer(
  config: Config,
  options: { logger?: pino.LoggerOptions; fanout?: FanOut } = {},
): Promise<RunningServer> {
  const gregor = await createGregor({
    settings: config as Settings,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.fanout ? { fanout: options.fanout } : {}),
  });
  const url = await gregor.listen();
  return {
    gregor,
    gregord: gregor.core,
    port: Number(new URL(url).port),
    url,
    devKeys: gregor.devKeys,
    stop: () => gregor.close(),
  };
}
