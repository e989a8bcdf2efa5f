import { Cluster, Redis } from 'ioredis';
import { Link } from '../common/link.js';
import { type FanOut, type FanOutLog, type Publication, publicationUid } from '../fan-out.js';
import { encodePublication } from '../wire.js';

export interface RedisFanOutOptions {
  /** One Redis (`redis://host:port`)… */
  readonly url?: string | null;
  /** …or the seed nodes (`host:port`) of a Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE) is used. */
  readonly nodes?: readonly string[];
  /** Channel prefix: `<prefix><uid>`; lets several deployments (or tests) share one Redis. */
  readonly prefix: string;
  /** Unique in the fleet: a node ignores its own publications by it. */
  readonly nodeId: string;
  readonly log: FanOutLog;
}

/**
 * The channel of resync notices: `#` may not appear in a user ID, so no user's channel
 * (`<prefix><uid>`) can ever be this one, and unsubscribing a user never drops it.
 */
export const RESYNC_CHANNEL = '#resync';

/** The plain or sharded form of each pub/sub command: in a cluster a channel lives on its slot's shard. */
const PLAIN = {
  publish: 'publish',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  event: 'messageBuffer',
};
const SHARDED = {
  publish: 'spublish',
  subscribe: 'ssubscribe',
  unsubscribe: 'sunsubscribe',
  event: 'smessageBuffer',
};

/**
 * Fan-out between nodes through Redis pub/sub, or Redis Cluster sharded pub/sub (seed 001,
 * "Fleet"). Separate connections publish and subscribe; a node subscribes to a user's channel
 * while it holds one of the user's devices and ignores its own publications.
 *
 * Failure: while the subscription is down the node is not healthy (readiness goes red); when it
 * comes back (ioredis resubscribes), every local device is told to resync. A publish that fails
 * (fast: nothing is queued while Redis is down, since a publication sent minutes late would
 * arrive out of order) is remembered, and once Redis takes commands again the other nodes are
 * told to resync that user's devices. Nothing waits on Redis: local delivery goes on.
 *
 * @example
 *   const fanOut = new RedisFanOut({ url: 'redis://127.0.0.1:6379', prefix: 'gregor:', nodeId, log });
 */
export class RedisFanOut implements FanOut {
  readonly name: 'redis' | 'redis-cluster';
  readonly #pub: Redis | Cluster;
  readonly #sub: Redis | Cluster;
  readonly #cmd: typeof PLAIN;
  readonly #options: RedisFanOutOptions;
  readonly #link: Link;
  /** Users this node subscribed to: PUBLISH and NUMSUB count this node's own subscription too. */
  readonly #subscribed = new Set<string>();
  /** Bumped when the subscription drops: a confirmation of an older connection is stale. */
  #generation = 0;
  #closed = false;

  constructor(options: RedisFanOutOptions) {
    this.#options = options;
    const cluster = options.nodes !== undefined && options.nodes.length > 0;
    this.name = cluster ? 'redis-cluster' : 'redis';
    this.#cmd = cluster ? SHARDED : PLAIN;
    this.#link = new Link({
      nodeId: options.nodeId,
      log: options.log,
      backend: this.name,
      separatePublisher: true,
      sendResync: async (frame) => {
        await this.#call(this.#pub, 'publish', this.#channel(RESYNC_CHANNEL), frame);
      },
    });
    // Named connections: an operator (or a test) can find this node's in CLIENT LIST.
    const name = `${options.prefix}${options.nodeId}`.replace(/[^\x21-\x7e]/g, '_');
    // Fail fast while Redis is down: a publication queued for minutes would arrive out of order.
    // So would one in flight when the connection drops, resent after the reconnect behind newer
    // ones: it fails instead (and its user is announced for a resync).
    const pubOptions = {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: `${name}:pub`,
    };
    const subOptions = { autoResubscribe: true, maxRetriesPerRequest: null, connectionName: `${name}:sub` };
    if (cluster) {
      const seeds = options.nodes!.map((n) => ({
        host: n.split(':')[0]!,
        port: Number(n.split(':')[1] ?? 6379),
      }));
      // Order: ioredis retries a command whose master is not connected after a delay, behind
      // later ones. Here it fails instead (no failover retry), masters are connected before the
      // node reports healthy (#connectMasters), and one met first on its first command queues
      // that command on its own connection, in order.
      this.#pub = new Cluster(seeds, {
        enableOfflineQueue: false,
        retryDelayOnFailover: 0,
        redisOptions: pubOptions,
      });
      this.#sub = new Cluster(seeds, { shardedSubscribers: true, redisOptions: subOptions });
      this.#watchCluster(this.#sub);
    } else {
      this.#pub = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
        ...pubOptions,
        enableOfflineQueue: false,
      });
      this.#sub = new Redis(options.url ?? 'redis://127.0.0.1:6379', subOptions);
      this.#watchPlain(this.#sub);
    }
    this.#pub.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#pub.on('ready', () => void this.#connectMasters().then(() => this.#link.publishing(true)));
    this.#pub.on('close', () => this.#link.publishing(false));
    this.#sub.on(this.#cmd.event, (_channel: Buffer, payload: Buffer) =>
      this.#link.receive(payload.toString()),
    );
    void this.#call(this.#sub, 'subscribe', this.#channel(RESYNC_CHANNEL)).catch(() => {});
  }

  get healthy(): boolean {
    return this.#link.healthy;
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#link.onRemote(handler);
  }

  onResync(handler: (uids: readonly string[] | null) => void): void {
    this.#link.onResync(handler);
  }

  /** Resolves with PUBLISH's (SPUBLISH's) count of receivers, less this node's own subscription. */
  async publish(p: Publication): Promise<number> {
    this.#open();
    const uid = publicationUid(p);
    try {
      const frame = encodePublication(this.#options.nodeId, p);
      const n = Number(await this.#call(this.#pub, 'publish', this.#channel(uid), frame));
      return Math.max(0, n - this.#own(uid));
    } catch (e) {
      this.#link.lost(uid);
      throw e;
    }
  }

  /**
   * While Redis is up, resolves once the subscription is active (before the device syncs, so no
   * message falls between the two). While it is down, never waits: ioredis subscribes when it
   * reconnects, and the devices are told to resync then.
   */
  async subscribe(uid: string): Promise<void> {
    this.#open();
    this.#subscribed.add(uid);
    const subscribing = this.#call(this.#sub, 'subscribe', this.#channel(uid)).catch((e: unknown) => {
      this.#options.log.warn({ err: e, uid }, 'subscribe failed; retried on reconnect');
    });
    if (this.#link.isUp) await subscribing;
    else this.#link.missed();
  }

  /** After close, a no-op: closing dropped every subscription. */
  async unsubscribe(uid: string): Promise<void> {
    if (this.#closed) return;
    this.#subscribed.delete(uid);
    const unsubscribing = this.#call(this.#sub, 'unsubscribe', this.#channel(uid)).catch(() => {});
    if (this.#link.isUp) await unsubscribing;
  }

  /** PUBSUB NUMSUB (in a cluster, SHARDNUMSUB on every master) less this node's own subscription. */
  async present(uid: string): Promise<boolean | null> {
    this.#open();
    try {
      return (await this.#numsub(this.#channel(uid))) - this.#own(uid) > 0;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.close();
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  #watchPlain(sub: Redis): void {
    sub.on('close', () => this.#down());
    // ioredis emits 'ready' and then resubscribes: a PING behind the SUBSCRIBEs confirms them.
    sub.on('ready', () => {
      const generation = this.#generation;
      setImmediate(() => {
        sub.ping().then(
          () => generation === this.#generation && this.#link.up(),
          () => {},
        );
      });
    });
  }

  /**
   * A cluster's sharded subscribers are one connection per master, replaced by ioredis when one
   * drops ('-node' with its node key, then '-subscriber'); 'subscribersReady' follows once the
   * replacements have resubscribed. Their SSUBSCRIBEs are written by then but not confirmed (ioredis
   * keeps those connections to itself): a device told to resync reconnects over the network first.
   */
  #watchCluster(sub: Cluster): void {
    sub.on('close', () => this.#down());
    sub.on('-subscriber', () => this.#down());
    sub.on('-node', (_redis: unknown, nodeKey?: string) => nodeKey !== undefined && this.#down());
    const up = () => {
      const generation = this.#generation;
      setImmediate(() => generation === this.#generation && sub.status === 'ready' && this.#link.up());
    };
    sub.on('ready', up);
    sub.on('subscribersReady', up);
  }

  /** In a cluster, opens the publishing connection to every master (ioredis opens them on first use). */
  async #connectMasters(): Promise<void> {
    if (!(this.#pub instanceof Cluster)) return;
    const waiting = this.#pub.nodes('master').filter((node) => node.status !== 'ready');
    await Promise.all(
      waiting.map((node) => {
        const ready = new Promise<void>((resolve) => {
          node.once('ready', resolve);
          node.once('end', resolve);
        });
        if (node.status === 'wait') node.connect().catch(() => {});
        return ready;
      }),
    );
  }

  #down(): void {
    this.#generation += 1;
    this.#link.down();
  }

  /** 1 when Redis counts this node among the channel's subscribers. */
  #own(uid: string): number {
    return this.#subscribed.has(uid) && this.#link.isUp ? 1 : 0;
  }

  async #numsub(channel: string): Promise<number> {
    if (this.#pub instanceof Redis) {
      const [, n] = (await this.#pub.call('pubsub', 'numsub', channel)) as [string, number];
      return Number(n);
    }
    // SHARDNUMSUB names no key, so ioredis cannot route it: each master counts its own shard's.
    const counts = await Promise.all(
      this.#pub
        .nodes('master')
        .map(async (node) => ((await node.call('pubsub', 'shardnumsub', channel)) as [string, number])[1]),
    );
    return counts.reduce((sum, n) => sum + Number(n), 0);
  }

  /** Runs the plain or sharded form of a pub/sub command. */
  #call(
    client: Redis | Cluster,
    what: 'publish' | 'subscribe' | 'unsubscribe',
    ...args: string[]
  ): Promise<unknown> {
    const method = (client as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[
      this.#cmd[what]
    ]!;
    return method.apply(client, args);
  }

  #channel(name: string): string {
    return `${this.#options.prefix}${name}`;
  }

  #open(): void {
    if (this.#closed) throw new Error('fan-out is closed');
  }
}
