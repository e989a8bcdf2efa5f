import { checkHistoryKept } from '../../core/rules.js';
import type {
  CompactionReport,
  ConsumeResult,
  Engine,
  MessagesAfter,
  Reminder,
  State,
} from '../../core/state-machine.js';
import { hiddenNow, pageAfter, projectAll, stateView } from '../../core/views.js';
import { GregorError } from '../../protocol/errors.js';
import type { InBandMessage, Message } from '../../protocol/message.js';
import { resolveTime, type TimeOrOffset } from '../../protocol/time.js';
import { addCounts } from '../common/compact.js';
import { relayed } from '../common/consume.js';
import { type CachedUser, ReplicaCache } from '../common/replicas.js';
import type { EngineStats } from '../common/stats.js';
import { compactUser } from './compact.js';
import { openConnection, type PgPool } from './connection.js';
import { toStorageError } from './errors.js';
import { IngestQueue } from './ingest-queue.js';
import { messagesAfter, messagesSince } from './messages.js';
import { claimDueReminders, completeReminders } from './reminders.js';
import { currentUser } from './replicas.js';

export interface PostgresEngineOptions {
  /** `postgres://user@host:5432/db` */
  readonly connectionString: string;
  /** The clock (ms). */
  readonly now?: () => number;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
  /** Users whose replicas are kept in memory (default 10,000). */
  readonly cacheUsers?: number;
  /** Messages per group-commit transaction at most (default 512). */
  readonly maxBatch?: number;
  /**
   * Group-commit lanes (default 4): users are split over lanes by a hash of their ID, and each
   * lane has one transaction in flight, so one batch is built while another waits for its WAL
   * flush. A user always uses the same lane, so in-process batches never share a replica.
   */
  readonly writers?: number;
}

/**
 * Opens an engine on a PostgreSQL database, migrating its schema first (see `PostgresEngine`).
 *
 * @example
 *   const engine = await openPostgresEngine({ connectionString: 'postgres://127.0.0.1/gregor' });
 *   await engine.consumeMessage(message);
 *   await engine.close();
 */
export async function openPostgresEngine(options: PostgresEngineOptions): Promise<PostgresEngine> {
  return new PostgresEngine(await openConnection(options), options);
}

/**
 * The PostgreSQL engine: durable, and safe for several processes on one database. SQL stores and
 * indexes; the semantics are `UserState`'s, as in the memory engine, from replicas loaded from the
 * rows and cached (validated against the user's row on every use). Concurrent consumes share a
 * transaction (group commit), and each is acknowledged only once its transaction committed.
 *
 * @example
 *   const engine = await openPostgresEngine({ connectionString: 'postgres://127.0.0.1/gregor' });
 *   const { seq } = await engine.consumeMessage(message); // durable once resolved
 *   const { items, hash } = await engine.state('alice', 'phone');
 */
export class PostgresEngine implements Engine {
  readonly #pool: PgPool;
  readonly #cache: ReplicaCache;
  readonly #now: () => number;
  readonly #ingest: IngestQueue;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;

  /**
   * Wraps a pool opened by `openConnection` (migrated); the engine owns it from now on and closes
   * it. `openPostgresEngine` is the usual way in.
   */
  constructor(pool: PgPool, options: Omit<PostgresEngineOptions, 'connectionString' | 'poolSize'> = {}) {
    this.#pool = pool;
    this.#cache = new ReplicaCache(options.cacheUsers ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#ingest = new IngestQueue(pool, this.#cache, options.maxBatch ?? 512, options.writers ?? 4);
  }

  /** Counters since open. */
  get stats(): EngineStats {
    return { ...this.#ingest.stats, replicaLoads: this.#cache.loads };
  }

  consumeMessage(m: Message): Promise<ConsumeResult> {
    return this.#run(async () => {
      if (m.kind === 'oob') return relayed();
      return this.#ingest.submit(m);
    }, 'consume');
  }

  state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State> {
    return this.#run(async () => {
      const user = await this.#user(uid);
      const now = this.#now();
      checkHistoryKept(resolveTime(t, now), user.replica.compactedBefore);
      return stateView(uid, user.replica, user.seq, device, t, now);
    }, 'state');
  }

  inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]> {
    return this.#run(async () => {
      const now = this.#now();
      const since = resolveTime(t, now)!;
      const user = await this.#user(uid);
      if (user.seq === 0) return [];
      checkHistoryKept(since, user.replica.compactedBefore);
      const hidden = hiddenNow(user.replica, now);
      return projectAll(await messagesSince(this.#pool, user, since), device, hidden);
    }, 'read');
  }

  messagesAfter(uid: string, device: string | null, seq: number, limit = Infinity): Promise<MessagesAfter> {
    return this.#run(async () => {
      const user = await this.#user(uid);
      if (user.seq === 0) return { messages: [], seq: 0, truncated: false };
      const head = user.seq;
      const hidden = hiddenNow(user.replica, this.#now());
      const { messages, more } = await messagesAfter(this.#pool, user, seq, limit);
      return pageAfter(messages, seq, head, more, device, hidden);
    }, 'read');
  }

  claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]> {
    return this.#run(
      () => claimDueReminders(this.#pool, (uid) => this.#user(uid), owner, now, limit, leaseMs),
      'claim reminders',
    );
  }

  completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void> {
    return this.#run(() => completeReminders(this.#pool, owner, reminders), 'complete reminders');
  }

  compact(cutoff: number, uid?: string): Promise<CompactionReport> {
    return this.#run(async () => {
      const uids =
        uid !== undefined
          ? [uid]
          : (await this.#pool.query('SELECT uid FROM gregor_users ORDER BY uid')).rows.map(
              (r) => r.uid as string,
            );
      const report = { cutoff, messages: 0, items: 0, intervals: 0 };
      for (const u of uids) {
        this.#cache.forget(u);
        const counts = await compactUser(this.#pool, u, cutoff);
        if (counts) addCounts(report, counts);
      }
      return report;
    }, 'compact');
  }

  /** Waits for calls in progress, then closes the pool. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      this.#cache.clear();
      await this.#pool.end();
    })();
    return this.#closing;
  }

  /** The user's current replica (see `currentUser`). */
  #user(uid: string): Promise<CachedUser> {
    return currentUser(this.#pool, this.#cache, (u) => this.#ingest.writing(u), uid);
  }

  /** Runs a call unless closed, translating driver errors and tracking it so close() can wait. */
  #run<T>(body: () => Promise<T>, doing: string): Promise<T> {
    if (this.#closing) return Promise.reject(new GregorError('CLOSED', 'the PostgreSQL engine is closed'));
    const p = body().catch((e: unknown) => {
      throw toStorageError(e, doing);
    });
    this.#inFlight.add(p);
    const forget = () => this.#inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }
}
