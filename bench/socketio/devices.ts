import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

export interface SocketIoOpenOptions {
  readonly users: readonly string[];
  readonly devicesPerUser: number;
  /** Connections opened at once: a bigger batch overflows the server's accept backlog. */
  readonly batch?: number;
  /**
   * Source addresses (127.0.x.y), used round-robin, as for openDevices. socket.io-client passes
   * `localAddress` through engine.io-client to the `ws` socket (not in its typings).
   */
  readonly localAddresses?: readonly string[];
  /** The body of every `message` event, as the server emitted it (the injected JSON text). */
  readonly onMessage?: (body: string) => void;
  /** A socket disconnected that the bench did not close. */
  readonly onUnexpectedClose?: (reason: string) => void;
}

const closedByBench = new WeakSet<Socket>();

/**
 * Opens `users × devicesPerUser` socket.io-client devices (websocket transport only, no
 * reconnection) with `?uid=<uid>&device=<id>`, in parallel batches; each resolves on `connect`,
 * when the server has already joined it to `user:<uid>`.
 *
 * @example
 *   const sockets = await openSocketIoDevices(port, { users: ['u0'], devicesPerUser: 10 });
 *   closeSocketIoDevices(sockets);
 */
export async function openSocketIoDevices(port: number, o: SocketIoOpenOptions): Promise<Socket[]> {
  const jobs: (() => Promise<Socket>)[] = [];
  const addresses = o.localAddresses ?? [];
  for (const uid of o.users)
    for (let d = 0; d < o.devicesPerUser; d++) {
      const address = addresses[jobs.length % addresses.length];
      jobs.push(() => openDevice(port, uid, `d${d}`, address, o));
    }
  const sockets: Socket[] = [];
  const batch = o.batch ?? 200;
  for (let i = 0; i < jobs.length; i += batch)
    sockets.push(...(await Promise.all(jobs.slice(i, i + batch).map((job) => job()))));
  return sockets;
}

function openDevice(
  port: number,
  uid: string,
  device: string,
  localAddress: string | undefined,
  o: SocketIoOpenOptions,
): Promise<Socket> {
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress?: string } = {
    transports: ['websocket'],
    query: { uid, device },
    forceNew: true,
    reconnection: false,
    ...(localAddress ? { localAddress } : {}),
  };
  const socket = io(`http://127.0.0.1:${port}`, options);
  return new Promise((resolve, reject) => {
    socket.once('connect_error', (e) => reject(new Error(`${uid}/${device}: ${e.message}`)));
    socket.once('connect', () => {
      socket.off('connect_error');
      const onMessage = o.onMessage;
      if (onMessage) socket.on('message', (body: string) => onMessage(body));
      socket.on('disconnect', (reason) => {
        if (!closedByBench.has(socket)) o.onUnexpectedClose?.(reason);
      });
      resolve(socket);
    });
  });
}

/**
 * Closes devices opened by openSocketIoDevices without reporting them as unexpected closes.
 *
 * @example
 *   closeSocketIoDevices(sockets);
 */
export function closeSocketIoDevices(sockets: readonly Socket[]): void {
  for (const socket of sockets) {
    closedByBench.add(socket);
    socket.disconnect();
  }
}
