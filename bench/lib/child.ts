/**
 * The IPC protocol between a bench and the processes it starts (servers under test, connection
 * holders): the child reports `ready`, answers `gc` with its memory, and exits cleanly on `stop`.
 * `go` and `status` are the child's own (a connection holder: open, and how many so far).
 */

/** Parent → child. */
export type ToChild =
  | { type: 'gc' }
  | { type: 'stop' }
  | { type: 'status' }
  | { type: 'go'; [key: string]: unknown };

/** Child → parent. */
export type FromChild =
  | { type: 'ready'; port: number; [key: string]: unknown }
  | { type: 'memory'; rss: number; heapUsed: number; external: number }
  | { type: 'done'; [key: string]: unknown }
  | { type: 'status'; [key: string]: unknown }
  | { type: 'error'; message: string };

/**
 * Runs the child side: calls `start`, reports `ready` with its port, and on `stop` awaits the
 * returned `stop()` and exits. `gc` runs a full collection (the child is forked with
 * `--expose-gc`) so memory figures do not depend on when V8 last collected.
 *
 * @example
 *   serveChild(async () => {
 *     const gregor = await createGregor({ settings: config });
 *     return { port: server.port, stop: () => server.stop() };
 *   });
 */
export function serveChild(
  start: () => Promise<{
    port: number;
    stop: () => Promise<void>;
    /** Extra fields for the `ready` message. */
    info?: Record<string, unknown>;
    onMessage?: (m: ToChild) => void;
  }>,
): void {
  const send = (m: FromChild) => process.send?.(m);
  start().then(
    (running) => {
      process.on('message', (m: ToChild) => {
        if (m.type === 'gc') {
          const gc = (globalThis as { gc?: () => void }).gc;
          // Twice: the first pass may only queue finalisers that free more on the second.
          gc?.();
          gc?.();
          const u = process.memoryUsage();
          send({ type: 'memory', rss: u.rss, heapUsed: u.heapUsed, external: u.external });
        } else if (m.type === 'stop') {
          running.stop().finally(() => process.exit(0));
        } else running.onMessage?.(m);
      });
      // The parent died: never outlive it.
      process.on('disconnect', () => process.exit(0));
      send({ ...running.info, type: 'ready', port: running.port });
    },
    (e: unknown) => {
      send({ type: 'error', message: String((e as Error).stack ?? e) });
      process.exit(1);
    },
  );
}
