/**
 * A load-generator process that holds idle device connections: on `go` it opens them (gregord and
 * bare: openDevices; Socket.IO: openSocketIoDevices) and answers `done`; `status` answers how many
 * are open, failed and were dropped so far; on `stop` it closes them. Several holders spread
 * connections over processes (each has its own open-file limit) and source addresses (each has its
 * own ephemeral ports). Forked by holdConnections (bench/lib/idle.ts).
 */

import type { ToChild } from './child.js';
import { serveChild } from './child.js';
import { closeDevices, openDevices } from './devices.js';
import type { ServerKind } from './servers.js';

/** The servers a holder can connect to. */
export type HoldKind = ServerKind;

/** The `go` message a holder expects. */
export type HoldOrder = {
  readonly type: 'go';
  readonly kind: HoldKind;
  readonly port: number;
  readonly users: readonly string[];
  readonly devicesPerUser: number;
  readonly tokens: readonly (readonly [string, string])[];
  readonly localAddresses: readonly string[];
  /**
   * gregord and bare only: keep the devices that opened and report the others (`failed`,
   * `errors` in `done`; each device has 30 s) instead of failing the whole order.
   */
  readonly tolerant?: boolean;
};

/** A holder's `done` (and, with `done: false` while opening, its `status`). */
export interface HoldReport {
  readonly opened: number;
  readonly failed: number;
  /** Open connections the server closed since they opened. */
  readonly dropped: number;
  /** The first few failures, as text. */
  readonly errors: readonly string[];
  /** From `go` to the last device live. */
  readonly ms: number;
  readonly done: boolean;
}

const DEVICE_TIMEOUT_MS = 30_000;
const KEPT_ERRORS = 5;

serveChild(async () => {
  let close = () => {};
  let opened = 0;
  let failed = 0;
  let dropped = 0;
  let done = false;
  let ms = 0;
  const errors: string[] = [];
  const report = (): HoldReport => ({ opened, failed, dropped, errors, ms, done });
  const onOpenFailure = (e: Error) => {
    failed++;
    if (errors.length < KEPT_ERRORS) errors.push(e.message);
  };
  const onProgress = (n: number) => {
    opened = n;
  };
  const open = async (o: HoldOrder) => {
    const common = { users: o.users, devicesPerUser: o.devicesPerUser, localAddresses: o.localAddresses };
    if (o.kind === 'socketio') {
      // Imported only here: a holder of ws devices does not load socket.io-client.
      const { closeSocketIoDevices, openSocketIoDevices } = await import('../socketio/devices.js');
      const sockets = await openSocketIoDevices(o.port, { ...common, onUnexpectedClose: () => dropped++ });
      close = () => closeSocketIoDevices(sockets);
      return sockets.length;
    }
    const sockets = await openDevices(
      { kind: o.kind, port: o.port, tokens: new Map(o.tokens) },
      {
        ...common,
        onUnexpectedClose: () => dropped++,
        onProgress,
        ...(o.tolerant ? { onOpenFailure, timeoutMs: DEVICE_TIMEOUT_MS } : {}),
      },
    );
    close = () => closeDevices(sockets);
    return sockets.length;
  };
  const hold = async (o: HoldOrder) => {
    const t0 = performance.now();
    try {
      opened = await open(o);
      ms = performance.now() - t0;
      done = true;
      process.send?.({ type: 'done', ...report() });
    } catch (e) {
      process.send?.({ type: 'error', message: String((e as Error).message) });
    }
  };
  return {
    port: 0,
    onMessage: (m: ToChild) => {
      if (m.type === 'go') void hold(m as unknown as HoldOrder);
      else if (m.type === 'status') process.send?.({ type: 'status', ...report() });
    },
    stop: async () => {
      close();
    },
  };
});
