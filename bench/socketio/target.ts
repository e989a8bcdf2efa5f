import { createTempDatabase } from '../../test/support/postgres.js';
import { type FanoutTarget, fanoutTarget, newSink } from '../lib/fanout-target.js';
import { startChild } from '../lib/spawn.js';
import { closeSocketIoDevices, openSocketIoDevices } from './devices.js';

/**
 * Starts the Socket.IO + redis-adapter server (bench/socketio/server.ts) in a child process on a
 * fresh temporary PostgreSQL database (dropped on close), connects `users × devicesPerUser`
 * socket.io-client devices from this process, and returns a FanoutTarget like
 * startFanoutTarget's: `inject(i)` sends gregord's bench payload, with its send time, to user
 * `i % users`.
 *
 * @example
 *   const sio = await startSocketIoTarget(100, 10);
 *   await sio.inject(0);
 *   await sio.close();
 */
export async function startSocketIoTarget(userCount: number, devicesPerUser: number): Promise<FanoutTarget> {
  // Durable commits (fsync on), as gregord's SQLite storage is durable before delivery.
  const db = await createTempDatabase('gregor_bench_sio_');
  const child = await startChild('socketio', '../socketio/server.ts', [db.url]).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  const { sink, onFrame } = newSink();
  let sockets: Awaited<ReturnType<typeof openSocketIoDevices>>;
  try {
    sockets = await openSocketIoDevices(child.port, {
      users: Array.from({ length: userCount }, (_, i) => `u${i}`),
      devicesPerUser,
      onMessage: onFrame,
      onUnexpectedClose: () => sink.unexpectedCloses++,
    });
  } catch (e) {
    await child.stop();
    await db.drop();
    throw e;
  }
  return fanoutTarget({
    name: 'Socket.IO + redis-adapter (PostgreSQL)',
    child,
    sink,
    userCount,
    closeDevices: () => closeSocketIoDevices(sockets),
    afterStop: () => db.drop(),
  });
}
