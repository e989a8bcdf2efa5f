import type {
  CompactionReport,
  ConsumeResult,
  Engine,
  MessagesAfter,
  Reminder,
  State,
} from '../../core/state-machine.js';
import { GregorError } from '../../protocol/errors.js';
import type { InBandMessage, Message } from '../../protocol/message.js';
import type { TimeOrOffset } from '../../protocol/time.js';
import { openPostgresEngine } from '../postgres/postgres-engine.js';
import { Rendezvous } from './rendezvous.js';

/** A shard: its routing name (never change it: users are placed by it) and its database. */
export interface ShardSpec {
  readonly name: string;
  readonly url: string;
}

export interface ShardedEngineOptions {
  /**
   * The shards. A plain URL is named by itself without credentials; give names explicitly to be
   * free to move a shard's database to another host without moving its users.
   */
  readonly shards: readonly (string | ShardSpec)[];
  readonly now?: () => number;
  /** Per-shard pool size. */
  readonly poolSize?: number;
  readonly cacheUsers?: number;
  readonly maxBatch?: number;
}

/** The routing name of a shard given as a URL: the URL without user and password. */
export function shardName(spec: string | ShardSpec): string {
  if (typeof spec !== 'string') return spec.name;
  const url = new URL(spec);
  url.username = '';
  url.password = '';
  return url.toString();
}

/**
 * Opens one PostgreSQL engine per shard and routes each user to one of them.
 *
 * @example
 *   const engine = await openShardedEngine({ shards: ['postgres://db1/gregor', 'postgres://db2/gregor'] });
 */
export async function openShardedEngine(options: ShardedEngineOptions): Promise<ShardedEngine> {
  const names = options.shards.map(shardName);
  const route = new Rendezvous(names);
  const opened = await Promise.allSettled(
    options.shards.map((s) =>
      openPostgresEngine({
        connectionString: typeof s === 'string' ? s : s.url,
        ...(options.now ? { now: options.now } : {}),
        ...(options.poolSize ? { poolSize: options.poolSize } : {}),
        ...(options.cacheUsers ? { cacheUsers: options.cacheUsers } : {}),
        ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
      }),
    ),
  );
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    throw failed.reason;
  }
  const engines = opened.map((r) => (r as PromiseFulfilledResult<Engine>).value);
  return new ShardedEngine(engines, route);
}

/**
 * An Engine over several shards. Everything about one user lives on one shard, so every per-user
 * call is the shard's own; reminders and compaction fan out.
 */
export class ShardedEngine implements Engine {
  readonly #shards: readonly Engine[];
  readonly #route: Rendezvous;
  /** Where the next claim starts, so no shard's reminders wait behind another's. */
  #nextClaim = 0;
  #closed = false;

  constructor(shards: readonly Engine[], route: Rendezvous) {
    this.#shards = shards;
    this.#route = route;
  }

  /** The index of the shard that holds `uid`. */
  shardOf(uid: string): number {
    return this.#route.pick(uid);
  }

  async consumeMessage(m: Message): Promise<ConsumeResult> {
    return this.#for(m.md.uid).consumeMessage(m);
  }

  async state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State> {
    return this.#for(uid).state(uid, device, t);
  }

  async inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]> {
    return this.#for(uid).inBandMessagesSince(uid, device, t);
  }

  async messagesAfter(
    uid: string,
    device: string | null,
    seq: number,
    limit?: number,
  ): Promise<MessagesAfter> {
    return this.#for(uid).messagesAfter(uid, device, seq, limit);
  }

  async claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]> {
    this.#open();
    const out: Reminder[] = [];
    const start = this.#nextClaim++ % this.#shards.length;
    for (let i = 0; i < this.#shards.length && out.length < limit; i++) {
      const shard = this.#shards[(start + i) % this.#shards.length]!;
      out.push(...(await shard.claimDueReminders(owner, now, limit - out.length, leaseMs)));
    }
    return out;
  }

  async completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void> {
    this.#open();
    const byShard = new Map<number, Reminder[]>();
    for (const r of reminders) {
      const i = this.shardOf(r.uid);
      byShard.set(i, [...(byShard.get(i) ?? []), r]);
    }
    await Promise.all([...byShard].map(([i, rs]) => this.#shards[i]!.completeReminders(owner, rs)));
  }

  async compact(cutoff: number, uid?: string): Promise<CompactionReport> {
    this.#open();
    if (uid !== undefined) return this.#for(uid).compact(cutoff, uid);
    const reports = await Promise.all(this.#shards.map((s) => s.compact(cutoff)));
    return reports.reduce(
      (sum, r) => ({
        cutoff,
        messages: sum.messages + r.messages,
        items: sum.items + r.items,
        intervals: sum.intervals + r.intervals,
      }),
      { cutoff, messages: 0, items: 0, intervals: 0 },
    );
  }

  async close(): Promise<void> {
    // Closing twice is safe: each shard's close is.
    this.#closed = true;
    await Promise.all(this.#shards.map((s) => s.close()));
  }

  #for(uid: string): Engine {
    this.#open();
    return this.#shards[this.shardOf(uid)]!;
  }

  #open(): void {
    if (this.#closed) throw new GregorError('CLOSED', 'the sharded engine is closed');
  }
}
