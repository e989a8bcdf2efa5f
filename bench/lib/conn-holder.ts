/**
 * A load-generator process that holds idle device connections: on `go` it opens them (see
 * openDevices) and answers `done`; on `stop` it closes them. Several holders spread connections
 * over processes (each has its own open-file limit) and source addresses (each has its own
 * ephemeral ports). Forked by bench/connections.ts.
 */
import type WebSocket from 'ws';
import type { ToChild } from './child.js';
import { serveChild } from './child.js';
import { closeDevices, type DeviceTarget, openDevices } from './devices.js';

/** The `go` message a holder expects. */
export type HoldOrder = {
  readonly type: 'go';
  readonly kind: DeviceTarget['kind'];
  readonly port: number;
  readonly users: readonly string[];
  readonly devicesPerUser: number;
  readonly tokens: readonly (readonly [string, string])[];
  readonly localAddresses: readonly string[];
};

serveChild(async () => {
  let sockets: WebSocket[] = [];
  let dropped = 0;
  const hold = async (o: HoldOrder) => {
    const t0 = performance.now();
    try {
      sockets = await openDevices(
        { kind: o.kind, port: o.port, tokens: new Map(o.tokens) },
        {
          users: o.users,
          devicesPerUser: o.devicesPerUser,
          localAddresses: o.localAddresses,
          onUnexpectedClose: () => dropped++,
        },
      );
      process.send?.({ type: 'done', opened: sockets.length, ms: performance.now() - t0 });
    } catch (e) {
      process.send?.({ type: 'error', message: String((e as Error).message) });
    }
  };
  return {
    port: 0,
    onMessage: (m: ToChild) => {
      if (m.type === 'go') void hold(m as unknown as HoldOrder);
    },
    stop: async () => {
      if (dropped > 0) console.warn(`  holder: the server closed ${dropped} idle connections`);
      closeDevices(sockets);
    },
  };
});
