import type WebSocket from 'ws';
import { makeToken, signingSecrets } from '../../src/cli/tokens.js';
import { closeDevices, type DeviceTarget, openDevices } from './devices.js';
import { benchPayload, Injector } from './inject.js';
import { cpuSeconds } from './proc.js';
import { type Child, startChild } from './spawn.js';

/** What the devices of one server received during the current phase. */
export interface Sink {
  deliveries: number;
  /** Inject → device latencies (ms), when the phase records them. */
  samples: number[] | null;
  unexpectedCloses: number;
}

/** A server under test with its devices connected and an injector, in the bench process. */
export interface FanoutTarget {
  readonly name: string;
  readonly child: Child;
  readonly sink: Sink;
  inject(i: number): Promise<void>;
  cpuSeconds(): number;
  close(): Promise<void>;
}

/**
 * Starts gregord or the bare baseline in a child process, connects `users × devicesPerUser`
 * live devices to it from this process, and returns a target whose `inject(i)` sends message `i`
 * to user `i % users` over HTTP with its send time in the body.
 *
 * @example
 *   const bare = await startFanoutTarget('bare', 100, 10);
 *   await bare.inject(0);
 *   await bare.close();
 */
export async function startFanoutTarget(
  kind: DeviceTarget['kind'],
  userCount: number,
  devicesPerUser: number,
): Promise<FanoutTarget> {
  const child =
    kind === 'gregord'
      ? await startChild('gregord', 'gregord-child.ts', [])
      : await startChild('bare', 'bare-server.ts', []);
  try {
    return await connect(kind, child, userCount, devicesPerUser);
  } catch (e) {
    await child.stop();
    throw e;
  }
}

async function connect(
  kind: DeviceTarget['kind'],
  child: Child,
  userCount: number,
  devicesPerUser: number,
): Promise<FanoutTarget> {
  const users = Array.from({ length: userCount }, (_, i) => `u${i}`);
  const headers: Record<string, string> = {};
  let tokens: Map<string, string> | undefined;
  if (kind === 'gregord') {
    const secrets = await signingSecrets({}, String(child.info.dataDir));
    const ttlSeconds = 3600;
    headers.authorization = `Bearer ${await makeToken({ secret: secrets.service, service: true, ttlSeconds })}`;
    tokens = new Map();
    for (const uid of users) tokens.set(uid, await makeToken({ secret: secrets.user, uid, ttlSeconds }));
  }
  const { sink, onFrame } = newSink();
  const sockets: WebSocket[] = await openDevices(
    { kind, port: child.port, ...(tokens ? { tokens } : {}) },
    { users, devicesPerUser, onFrame, onUnexpectedClose: () => sink.unexpectedCloses++ },
  );
  return fanoutTarget({
    name: kind === 'gregord' ? 'gregord (SQLite)' : 'bare ws',
    child,
    sink,
    headers,
    userCount,
    closeDevices: () => closeDevices(sockets),
  });
}

/**
 * An empty sink and the frame handler that fills it: each frame is one delivery and, while the
 * phase records latency, `now − sent` read from the bench payload.
 */
export function newSink(): { sink: Sink; onFrame: (text: string) => void } {
  const sink: Sink = { deliveries: 0, samples: null, unexpectedCloses: 0 };
  const onFrame = (text: string) => {
    sink.deliveries++;
    if (!sink.samples) return;
    const at = text.indexOf('"sent":');
    if (at >= 0) sink.samples.push(performance.now() - Number.parseFloat(text.slice(at + 7, at + 40)));
  };
  return { sink, onFrame };
}

/**
 * The FanoutTarget of a started server whose devices are connected: `inject(i)` posts the bench
 * payload to user `i % userCount`; `close()` closes the devices, the injector and the server,
 * then runs `afterStop` (e.g. dropping the server's database).
 */
export function fanoutTarget(o: {
  readonly name: string;
  readonly child: Child;
  readonly sink: Sink;
  readonly headers?: Record<string, string>;
  readonly userCount: number;
  readonly closeDevices: () => void;
  readonly afterStop?: () => Promise<void>;
}): FanoutTarget {
  const injector = new Injector(o.child.port, o.headers);
  let item = 0;
  return {
    name: o.name,
    child: o.child,
    sink: o.sink,
    inject(i) {
      return injector.post(`/v1/users/u${i % o.userCount}/messages`, benchPayload(item++, i));
    },
    cpuSeconds: () => cpuSeconds(o.child.pid),
    async close() {
      o.closeDevices();
      injector.close();
      await o.child.stop();
      await o.afterStop?.();
    },
  };
}
