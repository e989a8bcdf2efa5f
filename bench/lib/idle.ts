/**
 * Idle device connections for the benches: a server under test (gregord, bare ws or Socket.IO +
 * redis-adapter) in a child process, connections held by separate holder processes
 * (bench/lib/conn-holder.ts) from source addresses never reused in the run, and what they cost
 * the server in memory. Used by bench/suite/memory.ts, bench/suite/hold.ts and
 * bench/connections.ts.
 */
import { rmSync } from 'node:fs';
import { makeToken, signingSecrets } from '../../src/cli/tokens.js';
import { createTempDatabase } from '../../test/support/postgres.js';
import type { HoldKind, HoldOrder, HoldReport } from './conn-holder.js';
import { openFileLimit, rssBytes, sleep } from './proc.js';
import { type Child, startChild } from './spawn.js';

export type IdleKind = HoldKind;

export { SERVER_NAMES } from './servers.js';

export const DEVICES_PER_USER = 10;
/** Connections per holder process at most. */
export const PER_HOLDER = 15_000;
/** Connections per source address: binding port 0 gets slow as an address's ports fill up. */
const PER_ADDRESS = 2_500;
/** Warm-up connections opened and closed before the `before` measurement. */
export const WARMUP = 200;
/** Descriptors a process keeps besides its connections (stdio, IPC, epoll, SQLite files, pools). */
const FD_MARGIN = 1_000;

/**
 * The connections one process (a server or a holder) can keep open under the open-file limit
 * (`ulimit -n`, inherited by every child): one descriptor each, less a margin.
 *
 * @example
 *   const processes = Math.ceil(50_000 / connectionsPerProcess());
 */
export function connectionsPerProcess(): number {
  return openFileLimit() - FD_MARGIN;
}

/** `count` user ids from `u<from>` on. */
export const userIds = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `u${from + i}`);

let nextAddress = 0;
/**
 * Source addresses 127.0.x.y for `connections` connections, never used before in this process: a
 * closed connection leaves its port in TIME_WAIT, and binding port 0 on an address full of those
 * is slow.
 *
 * @example
 *   const addresses = freshAddresses(15_000); // 6 addresses
 */
export function freshAddresses(connections: number): string[] {
  return Array.from({ length: Math.ceil(connections / PER_ADDRESS) }, () => {
    const n = 2 + nextAddress++;
    if (n > 255 * 254) throw new Error('out of 127.0.x.y source addresses');
    return `127.0.${Math.floor(n / 254)}.${1 + (n % 254)}`;
  });
}

export interface Memory {
  /** VmRSS, bytes. */
  readonly rss: number;
  /** V8 heap used, bytes. */
  readonly heap: number;
}

/**
 * A server's memory after two full GCs in it (asked over IPC; children run with --expose-gc), a
 * second after the last change so that closes and timers have settled.
 *
 * @example
 *   const before = await measure(server.child);
 */
export async function measure(server: Child): Promise<Memory> {
  await sleep(1000);
  const m = await server.request({ type: 'gc' }, 'memory');
  return { rss: rssBytes(server.pid), heap: m.heapUsed };
}

/** A server under test, with what its devices need to connect. */
export interface IdleServer {
  readonly kind: IdleKind;
  readonly child: Child;
  /** gregord: a user token for each user. */
  readonly tokens: ReadonlyMap<string, string>;
  /** Stops the server and removes what it used (data dir; Socket.IO: its temporary database). */
  close(): Promise<void>;
}

/**
 * Starts a server in a child process: gregord (SQLite in a temporary data dir) with a token for
 * each of `users`, the bare `ws` server, or the Socket.IO + redis-adapter server on a fresh
 * temporary PostgreSQL database (needs Redis at 127.0.0.1:6379, like bench/socketio/target.ts).
 *
 * @example
 *   const server = await startIdleServer('gregord', userIds(1_000));
 *   try { … } finally { await server.close(); }
 */
export async function startIdleServer(
  kind: IdleKind,
  users: readonly string[],
  name: string = kind,
): Promise<IdleServer> {
  if (kind === 'socketio') {
    const db = await createTempDatabase('gregor_bench_sio_');
    const child = await startChild(name, '../socketio/server.ts', [db.url]).catch(async (e: unknown) => {
      await db.drop();
      throw e;
    });
    return {
      kind,
      child,
      tokens: new Map(),
      async close() {
        try {
          await child.stop();
        } finally {
          await db.drop();
        }
      },
    };
  }
  const child = await startChild(name, kind === 'gregord' ? 'gregord-child.ts' : 'bare-server.ts', []);
  const tokens = new Map<string, string>();
  try {
    if (kind === 'gregord') {
      const secrets = await signingSecrets({}, String(child.info.dataDir));
      for (const uid of users)
        tokens.set(uid, await makeToken({ secret: secrets.user, uid, ttlSeconds: 3600 }));
    }
  } catch (e) {
    await child.stop();
    throw e;
  }
  return {
    kind,
    child,
    tokens,
    async close() {
      await child.stop();
      // gregord removes its data dir when it stops; not if it died.
      if (typeof child.info.dataDir === 'string')
        rmSync(child.info.dataDir, { recursive: true, force: true });
    },
  };
}

export interface HoldOptions {
  /** Connections per holder process (default PER_HOLDER, less if the open-file limit is lower). */
  readonly perHolder?: number;
  /**
   * gregord and bare: keep what opened and report the rest (`failed`, `errors`) instead of
   * throwing; a holder that fails is stopped and all its connections count as failed.
   */
  readonly tolerant?: boolean;
  /** While opening, about every 250 ms: connections live so far in all holders. */
  readonly onProgress?: (opened: number) => void;
}

/** Connections held open by holder processes. */
export interface HeldConnections {
  readonly requested: number;
  readonly opened: number;
  readonly failed: number;
  /** The first failures, as text (per holder, and per device with `tolerant`). */
  readonly errors: readonly string[];
  /** From the first `go` to the last holder's `done`. */
  readonly ms: number;
  /** Holder processes still holding connections. */
  readonly holders: number;
  /** Sum of the holders' RSS before they opened anything, bytes. */
  readonly emptyRss: number;
  /** Asks every holder: connections open now, and those the server closed since they opened. */
  status(): Promise<{ open: number; dropped: number }>;
  /** Sum of the holders' RSS (VmRSS after two GCs in each), bytes. */
  rss(): Promise<number>;
  /** Closes every connection (stops the holders). */
  close(): Promise<void>;
}

/**
 * Opens `users × DEVICES_PER_USER` connections to `server` through holder processes (at most
 * `perHolder` each, users split evenly, fresh source addresses), all holders at once.
 *
 * @example
 *   const held = await holdConnections(server, userIds(1_000));
 *   console.log(held.opened, held.ms);
 *   await held.close();
 */
export async function holdConnections(
  server: IdleServer,
  users: readonly string[],
  o: HoldOptions = {},
): Promise<HeldConnections> {
  const requested = users.length * DEVICES_PER_USER;
  const perHolder = Math.min(o.perHolder ?? PER_HOLDER, connectionsPerProcess());
  const holderCount = Math.ceil(requested / perHolder);
  const usersPerHolder = Math.ceil(users.length / holderCount);
  const orders: HoldOrder[] = [];
  for (let h = 0; h < holderCount; h++) {
    const mine = users.slice(h * usersPerHolder, (h + 1) * usersPerHolder);
    if (mine.length === 0) continue;
    orders.push({
      type: 'go',
      kind: server.kind,
      port: server.child.port,
      users: mine,
      devicesPerUser: DEVICES_PER_USER,
      tokens: mine.flatMap((u) => {
        const token = server.tokens.get(u);
        return token ? [[u, token] as const] : [];
      }),
      localAddresses: freshAddresses(mine.length * DEVICES_PER_USER),
      tolerant: o.tolerant ?? false,
    });
  }
  const size = (order: HoldOrder) => order.users.length * order.devicesPerUser;
  const errors: string[] = [];
  const fail = (h: number, e: unknown) => {
    if (!o.tolerant) throw e;
    errors.push(`${server.child.name} holder ${h}: ${(e as Error).message}`);
  };

  // Start every holder; with `tolerant`, one that does not start leaves its share unopened.
  const started = await Promise.allSettled(
    orders.map((_, h) => startChild(`${server.child.name}-holder${h}`, 'conn-holder.ts', [])),
  );
  const holders = new Map<number, Child>();
  started.forEach((s, h) => {
    if (s.status === 'fulfilled') holders.set(h, s.value);
  });
  const stopAll = () => Promise.all([...holders.values()].map((c) => c.stop()));
  let failed = 0;
  try {
    started.forEach((s, h) => {
      if (s.status === 'rejected') {
        failed += size(orders[h]!);
        fail(h, s.reason);
      }
    });
    const emptyRss = [...holders.values()].reduce((sum, c) => sum + rssBytes(c.pid), 0);

    const progress = new Map<number, number>();
    let polling: Promise<unknown> | undefined;
    const poll = () => {
      if (polling) return;
      polling = Promise.all(
        [...holders].map(([h, c]) =>
          c.request({ type: 'status' }, 'status').then(
            (s) => progress.set(h, Number(s.opened)),
            () => {},
          ),
        ),
      ).then(() => {
        polling = undefined;
        o.onProgress?.([...progress.values()].reduce((a, b) => a + b, 0));
      });
    };
    const timer = o.onProgress ? setInterval(poll, 250) : undefined;

    const t0 = performance.now();
    let opened = 0;
    try {
      await Promise.all(
        [...holders].map(async ([h, c]) => {
          try {
            const done = (await c.request(orders[h]!, 'done')) as unknown as HoldReport;
            opened += done.opened;
            failed += done.failed;
            for (const e of done.errors) if (errors.length < 10) errors.push(e);
          } catch (e) {
            // Stopped now, so that what it had opened is closed and nothing is counted twice.
            holders.delete(h);
            await c.stop();
            failed += size(orders[h]!);
            fail(h, e);
          }
        }),
      );
    } finally {
      clearInterval(timer);
      await polling;
    }
    const ms = performance.now() - t0;
    o.onProgress?.(opened);

    const live = [...holders.values()];
    return {
      requested,
      opened,
      failed,
      errors,
      ms,
      holders: live.length,
      emptyRss,
      async status() {
        const reports = await Promise.all(
          live.map((c) => c.request({ type: 'status' }, 'status') as unknown as Promise<HoldReport>),
        );
        return {
          open: reports.reduce((a, r) => a + r.opened - r.dropped, 0),
          dropped: reports.reduce((a, r) => a + r.dropped, 0),
        };
      },
      async rss() {
        await Promise.all(live.map((c) => c.request({ type: 'gc' }, 'memory')));
        return live.reduce((sum, c) => sum + rssBytes(c.pid), 0);
      },
      close: async () => {
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** What N idle connections cost one server. */
export interface IdleMemory {
  readonly kind: IdleKind;
  readonly connections: number;
  readonly before: Memory;
  readonly after: Memory;
  /** (after − before) / connections, bytes. */
  readonly perConnection: Memory;
  /** Time to open the N connections, ms. */
  readonly openMs: number;
  /** Connections the server closed while they were held (should be 0). */
  readonly dropped: number;
}

/**
 * Memory per idle connection of one server: start it, open and close WARMUP connections (JIT
 * code and pools the first connections allocate are not per-connection costs), measure, open
 * `count` connections (count/10 users × 10 devices; gregord: authenticated and synced), measure
 * again, close everything.
 *
 * @example
 *   const m = await idleMemory('bare', 10_000);
 *   console.log(m.perConnection.rss / 1024, 'KB');
 */
export async function idleMemory(
  kind: IdleKind,
  count: number,
  onProgress: (text: string) => void = () => {},
): Promise<IdleMemory> {
  const users = userIds(Math.ceil(count / DEVICES_PER_USER));
  onProgress('starting');
  const server = await startIdleServer(kind, users);
  try {
    onProgress(`warm-up, ${WARMUP} connections`);
    const warm = await holdConnections(server, users.slice(0, WARMUP / DEVICES_PER_USER));
    await warm.close();
    onProgress('measuring before');
    const before = await measure(server.child);
    const held = await holdConnections(server, users, {
      onProgress: (n) => onProgress(`${n.toLocaleString('en-US')}/${count.toLocaleString('en-US')} open`),
    });
    try {
      onProgress('measuring after');
      const after = await measure(server.child);
      const { dropped } = await held.status();
      const n = held.opened;
      return {
        kind,
        connections: n,
        before,
        after,
        perConnection: { rss: (after.rss - before.rss) / n, heap: (after.heap - before.heap) / n },
        openMs: held.ms,
        dropped,
      };
    } finally {
      await held.close();
    }
  } finally {
    await server.close();
  }
}
