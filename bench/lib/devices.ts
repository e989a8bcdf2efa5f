import WebSocket from 'ws';

/** Which server the devices talk to: gregord authenticates and syncs, the bare baseline does neither. */
export interface DeviceTarget {
  readonly kind: 'gregord' | 'bare';
  readonly port: number;
  /** gregord only: a user token (without device_id: the device goes in the URL). */
  readonly tokens?: ReadonlyMap<string, string>;
}

export interface OpenOptions {
  readonly users: readonly string[];
  readonly devicesPerUser: number;
  /** Connections opened at once: a bigger batch overflows the server's accept backlog. */
  readonly batch?: number;
  /**
   * Source addresses (127.0.0.x), used round-robin: each has its own ~28k ephemeral ports, and
   * binding port 0 slows down as an address fills up.
   */
  readonly localAddresses?: readonly string[];
  /** Every live frame after the device is ready (for gregord: after the sync answer). */
  readonly onFrame?: (text: string) => void;
  /** A socket closed that the bench did not close. */
  readonly onUnexpectedClose?: (code: number) => void;
  /**
   * When given, a device that fails to open is reported here and left out of the result instead
   * of failing the whole call (its socket is closed).
   */
  readonly onOpenFailure?: (error: Error) => void;
  /** A device not live within this many ms fails (default: no limit). */
  readonly timeoutMs?: number;
  /** After each batch: devices live so far, and failed so far (with onOpenFailure). */
  readonly onProgress?: (opened: number, failed: number) => void;
}

/** Sockets the bench itself closed: their close is not a server dropping a device. */
const closedByBench = new WeakSet<WebSocket>();

/**
 * Opens `users × devicesPerUser` device sockets in parallel batches. For gregord each device
 * authenticates with the Authorization header, waits for `hello`, sends `sync` and waits for the
 * `state` answer, so it is a fully attached, live device; for the bare server it only opens. One
 * device that fails fails the call, unless `onOpenFailure` is given.
 *
 * @example
 *   const sockets = await openDevices({ kind: 'bare', port }, { users: ['u0'], devicesPerUser: 10 });
 *   closeDevices(sockets);
 */
export async function openDevices(target: DeviceTarget, o: OpenOptions): Promise<WebSocket[]> {
  const jobs: (() => Promise<WebSocket>)[] = [];
  const addresses = o.localAddresses ?? [];
  for (const uid of o.users) {
    for (let d = 0; d < o.devicesPerUser; d++) {
      const address = addresses[jobs.length % addresses.length];
      jobs.push(() => openDevice(target, uid, `d${d}`, address, o));
    }
  }
  const sockets: WebSocket[] = [];
  const batch = o.batch ?? 200;
  const onOpenFailure = o.onOpenFailure;
  let failed = 0;
  const run = onOpenFailure
    ? (job: () => Promise<WebSocket>) =>
        job().catch((e: unknown) => {
          failed++;
          onOpenFailure(e as Error);
          return null;
        })
    : (job: () => Promise<WebSocket>) => job();
  for (let i = 0; i < jobs.length; i += batch) {
    for (const ws of await Promise.all(jobs.slice(i, i + batch).map(run))) if (ws) sockets.push(ws);
    o.onProgress?.(sockets.length, failed);
  }
  return sockets;
}

function openDevice(
  target: DeviceTarget,
  uid: string,
  device: string,
  localAddress: string | undefined,
  o: OpenOptions,
): Promise<WebSocket> {
  const query = target.kind === 'bare' ? `uid=${uid}&device=${device}` : `device=${device}`;
  const token = target.tokens?.get(uid);
  const ws = new WebSocket(`ws://127.0.0.1:${target.port}/v1/ws?${query}`, {
    perMessageDeflate: false,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    ...(localAddress ? { localAddress } : {}),
  });
  return new Promise((resolve, fail) => {
    let settled = false;
    // A device that failed is closed here: the caller never gets its socket.
    const reject = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      closedByBench.add(ws);
      ws.terminate();
      fail(e);
    };
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => reject(new Error(`${uid}/${device}: not live within ${o.timeoutMs} ms`)),
            o.timeoutMs,
          );
    const live = () => {
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.removeAllListeners('error');
      const onFrame = o.onFrame;
      if (onFrame) ws.on('message', (data) => onFrame(String(data)));
      ws.on('close', (code) => {
        if (!closedByBench.has(ws)) o.onUnexpectedClose?.(code);
      });
      // A late error is followed by a close, which is what gets reported.
      ws.on('error', () => {});
      resolve(ws);
    };
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`${uid}/${device} closed (${code} ${reason})`)));
    if (target.kind === 'bare') {
      ws.once('open', () => {
        ws.removeAllListeners('close');
        live();
      });
      return;
    }
    ws.on('message', (data) => {
      const type = /"type":"(\w+)"/.exec(String(data))?.[1];
      if (type === 'hello') ws.send('{"type":"sync"}');
      else if (type === 'state') {
        ws.removeAllListeners('close');
        live();
      } else if (type === 'error') reject(new Error(`${uid}/${device}: ${String(data)}`));
    });
  });
}

/**
 * Closes sockets opened by openDevices without reporting them as unexpected closes.
 *
 * @example
 *   closeDevices(sockets);
 */
export function closeDevices(sockets: readonly WebSocket[]): void {
  for (const ws of sockets) {
    closedByBench.add(ws);
    ws.terminate();
  }
}
