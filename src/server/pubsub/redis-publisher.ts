import { Cluster, Redis } from 'ioredis';
import type { ConsumeResult, Reminder } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';
import type { Logger } from '../pipeline.js';
import type { Publication, Publisher } from '../publisher.js';

export interface RedisPublisherOptions {
  /** One Redis (`redis://host:port`)… */
  readonly url?: string | null;
  /** …or the seed nodes (`host:port`) of a Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE) is used. */
  readonly nodes?: readonly string[];
  /** Channel prefix: `<prefix><uid>`; lets several deployments (or tests) share one Redis. */
  readonly prefix: string;
  readonly nodeId: string;
  readonly log: Logger;
}

/** What travels on a user's channel. `resync`: a node could not publish for these users. */
type Wire =
  | {
      node: string;
      kind: 'message';
      message: Message;
      result: { status: ConsumeResult['status']; seq: number | null; dead: [string, readonly string[]][] };
    }
  | {
      node: string;
      kind: 'reminder';
      reminder: Omit<Reminder, 'item'> & { item: Omit<Reminder['item'], 'digest'> };
    }
  | { node: string; kind: 'resync'; uids: string[] };

/**
 * The channel of resync notices: `#` may not appear in a user ID, so no user's channel
 * (`<prefix><uid>`) can ever be this one, and unsubscribing a user never drops it.
 */
export const RESYNC_CHANNEL = '#resync';

/**
 * Fan-out between nodes through Redis pub/sub (seed 001, "Fleet"). Separate connections publish
 * and subscribe; a node subscribes to a user's channel while it holds one of the user's devices
 * (the hub calls subscribe/unsubscribe on the user's lane) and ignores its own publications.
 *
 * Failure: while the subscription is down the node is not healthy (readiness goes red); when it
 * comes back (ioredis resubscribes), every local device is told to resync, because it may have
 * missed messages. A publish that fails is remembered, and once Redis answers again the other
 * nodes are told to resync that user's devices. Nothing waits on Redis: local delivery goes on.
 *
 * @example
 *   const publisher = new RedisPublisher({ url: 'redis://127.0.0.1:6379', prefix: 'gregor:', nodeId, log });
 */
export class RedisPublisher implements Publisher {
  readonly #pub: Redis | Cluster;
  readonly #sub: Redis | Cluster;
  /** Plain or sharded pub/sub commands: in a cluster a channel lives on the shard of its slot. */
  readonly #cmd: { publish: string; subscribe: string; unsubscribe: string; event: string };
  readonly #options: RedisPublisherOptions;
  #remote: (p: Publication) => void = () => {};
  #resync: (uids: readonly string[] | null) => void = () => {};
  /** Users whose publications were lost while Redis was unreachable. */
  readonly #unpublished = new Set<string>();
  #subReady = false;
  #wasDown = false;
  #closed = false;

  constructor(options: RedisPublisherOptions) {
    this.#options = options;
    // Named connections: an operator (or a test) can find this node's in CLIENT LIST.
    const name = `${options.prefix}${options.nodeId}`.replace(/[^\x21-\x7e]/g, '_');
    // Fail fast while Redis is down: a publication queued for minutes would arrive out of order.
    const pubOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: `${name}:pub` };
    const subOptions = { autoResubscribe: true, maxRetriesPerRequest: null, connectionName: `${name}:sub` };
    if (options.nodes && options.nodes.length > 0) {
      const seeds = options.nodes.map((n) => ({
        host: n.split(':')[0]!,
        port: Number(n.split(':')[1] ?? 6379),
      }));
      this.#pub = new Cluster(seeds, { enableOfflineQueue: false, redisOptions: pubOptions });
      this.#sub = new Cluster(seeds, { shardedSubscribers: true, redisOptions: subOptions });
      this.#cmd = {
        publish: 'spublish',
        subscribe: 'ssubscribe',
        unsubscribe: 'sunsubscribe',
        event: 'smessageBuffer',
      };
    } else {
      this.#pub = new Redis(options.url ?? 'redis://127.0.0.1:6379', pubOptions);
      this.#sub = new Redis(options.url ?? 'redis://127.0.0.1:6379', subOptions);
      this.#cmd = {
        publish: 'publish',
        subscribe: 'subscribe',
        unsubscribe: 'unsubscribe',
        event: 'messageBuffer',
      };
    }
    this.#pub.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#pub.on('ready', () => void this.#flushUnpublished());
    this.#sub.on('ready', () => this.#onSubReady());
    this.#sub.on('close', () => {
      if (this.#subReady)
        options.log.warn({}, 'redis subscription lost; devices will resync when it returns');
      this.#subReady = false;
      this.#wasDown = true;
    });
    this.#sub.on(this.#cmd.event, (channel: Buffer, payload: Buffer) =>
      this.#onMessage(channel.toString(), payload.toString()),
    );
    void this.#call(this.#sub, 'subscribe', this.#channel(RESYNC_CHANNEL)).catch(() => {});
  }

  get healthy(): boolean {
    return this.#subReady && this.#unpublished.size === 0;
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#remote = handler;
  }

  onResync(handler: (uids: readonly string[] | null) => void): void {
    this.#resync = handler;
  }

  async publish(p: Publication): Promise<void> {
    const uid = p.kind === 'message' ? p.message.md.uid : p.reminder.uid;
    try {
      await this.#call(this.#pub, 'publish', this.#channel(uid), JSON.stringify(this.#encode(p)));
    } catch (e) {
      this.#unpublished.add(uid);
      throw e;
    }
  }

  /**
   * While Redis is up, resolves once the subscription is active (before the device syncs, so no
   * message falls between the two). While it is down, never waits: ioredis subscribes when it
   * reconnects, and the devices are told to resync then.
   */
  async subscribe(uid: string): Promise<void> {
    const subscribing = this.#call(this.#sub, 'subscribe', this.#channel(uid)).catch((e: unknown) => {
      this.#options.log.warn({ err: e, uid }, 'subscribe failed; retried on reconnect');
    });
    if (this.#subReady) await subscribing;
  }

  async unsubscribe(uid: string): Promise<void> {
    const unsubscribing = this.#call(this.#sub, 'unsubscribe', this.#channel(uid)).catch(() => {});
    if (this.#subReady) await unsubscribing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pub.disconnect();
    this.#sub.disconnect();
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

  #onSubReady(): void {
    this.#subReady = true;
    if (this.#wasDown) {
      this.#wasDown = false;
      this.#options.log.info({}, 'redis subscription back; telling local devices to resync');
      this.#resync(null);
    }
  }

  /** Once Redis answers again, tells the other nodes which users' publications were lost. */
  async #flushUnpublished(): Promise<void> {
    if (this.#unpublished.size === 0) return;
    const uids = [...this.#unpublished];
    try {
      const wire: Wire = { node: this.#options.nodeId, kind: 'resync', uids };
      await this.#call(this.#pub, 'publish', this.#channel(RESYNC_CHANNEL), JSON.stringify(wire));
      for (const uid of uids) this.#unpublished.delete(uid);
    } catch {
      // Still down: the next 'ready' tries again.
    }
  }

  #onMessage(channel: string, payload: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(payload) as Wire;
    } catch {
      this.#options.log.warn({ channel }, 'unreadable publication ignored');
      return;
    }
    if (wire.node === this.#options.nodeId) return;
    if (wire.kind === 'resync') this.#resync(wire.uids);
    else this.#remote(this.#decode(wire));
  }

  #encode(p: Publication): Wire {
    const node = this.#options.nodeId;
    if (p.kind === 'reminder') {
      const { digest: _, ...item } = p.reminder.item;
      return { node, kind: 'reminder', reminder: { ...p.reminder, item } };
    }
    const { status, seq, deadOnArrival } = p.result;
    return { node, kind: 'message', message: p.message, result: { status, seq, dead: [...deadOnArrival] } };
  }

  #decode(wire: Exclude<Wire, { kind: 'resync' }>): Publication {
    if (wire.kind === 'reminder') {
      return {
        kind: 'reminder',
        reminder: { ...wire.reminder, item: { ...wire.reminder.item, digest: new Uint8Array(32) } },
      };
    }
    const { status, seq, dead } = wire.result;
    return { kind: 'message', message: wire.message, result: { status, seq, deadOnArrival: new Map(dead) } };
  }
}
