import type { Database } from 'better-sqlite3';
import { checkHistoryKept } from '../../core/rules.js';
import type {
  CompactionReport,
  ConsumeResult,
  Engine,
  MessagesAfter,
  Reminder,
  State,
} from '../../core/state-machine.js';
import { UserState } from '../../core/user-state.js';
import { hiddenNow, pageAfter, projectAll, stateView } from '../../core/views.js';
import { GregorError } from '../../protocol/errors.js';
import type { InBandMessage, Message } from '../../protocol/message.js';
import { resolveTime, type TimeOrOffset } from '../../protocol/time.js';
import { addCounts } from '../common/compact.js';
import { relayed } from '../common/consume.js';
import { ReplicaCache } from '../common/replicas.js';
import type { EngineStats } from '../common/stats.js';
import { compactUser } from './compact.js';
import { openConnection } from './connection.js';
import { toStorageError } from './errors.js';
import { IngestQueue } from './ingest-queue.js';
import { messagesAfter, messagesSince } from './messages.js';
import { claimDueReminders, completeReminders } from './reminders.js';
import { currentUser, type SqliteUser } from './replicas.js';
import { Statements } from './statements.js';

export interface SqliteEngineOptions {
  /** The database file; its directory is created if missing. */
  readonly path: string;
  /** The clock (ms) for "now" in reads; tests move it. */
  readonly now?: () => number;
  /** `full` (default): acknowledged means durable. `normal`: faster, may lose the last commits on power loss. */
  readonly synchronous?: 'full' | 'normal';
  /** Users whose replicas are kept in memory (LRU). Default 1024. */
  readonly cacheUsers?: number;
  /** Most messages written by one transaction. Default 1024. */
  readonly maxBatch?: number;
}

/**
 * Opens an engine on a SQLite file (see `SqliteEngine`).
 *
 * @example
 *   const engine = await openSqliteEngine({ path: 'data/gregor.db' });
 *   await engine.consumeMessage(message);
 *   await engine.close();
 */
export async function openSqliteEngine(options: SqliteEngineOptions): Promise<SqliteEngine> {
  return new SqliteEngine(openConnection(options), options);
}

/**
 * The SQLite engine: durable, and safe for several processes on one file. SQL stores and indexes;
 * the semantics are `UserState`'s, as in the memory engine, from replicas loaded from the rows and
 * cached (validated against the user's row version on every use). Concurrent consumes share a
 * transaction (group commit), and each is acknowledged only once its transaction committed.
 *
 * @example
 *   const engine = await openSqliteEngine({ path: 'data/gregor.db' });
 *   const { seq } = await engine.consumeMessage(message); // durable once resolved
 *   const { items, hash } = await engine.state('alice', 'phone');
 */
export class SqliteEngine implements Engine {
  readonly #db: Database;
  readonly #st: Statements;
  readonly #cache: ReplicaCache<SqliteUser>;
  readonly #now: () => number;
  readonly #ingest: IngestQueue;
  #closed = false;

  /**
   * Wraps a connection opened by `openConnection` (migrated, WAL); the engine owns it from now on
   * and closes it. `openSqliteEngine` is the usual way in; this one lets tests reach the connection.
   */
  constructor(db: Database, options: Omit<SqliteEngineOptions, 'path'> = {}) {
    this.#db = db;
    this.#st = new Statements(db);
    this.#cache = new ReplicaCache<SqliteUser>(options.cacheUsers ?? 1024);
    this.#now = options.now ?? Date.now;
    this.#ingest = new IngestQueue(db, this.#st, this.#cache, options.maxBatch ?? 1024);
  }

  /** Counters since open. */
  get stats(): EngineStats {
    return { ...this.#ingest.stats, replicaLoads: this.#cache.loads };
  }

  async consumeMessage(m: Message): Promise<ConsumeResult> {
    this.#open();
    if (m.kind === 'oob') return relayed();
    return this.#ingest.submit(m);
  }

  async state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State> {
    return this.#read('reading a state', () => {
      const now = this.#now();
      const user = currentUser(this.#st, this.#cache, uid);
      const replica = user?.replica ?? new UserState();
      checkHistoryKept(resolveTime(t, now), replica.compactedBefore);
      return stateView(uid, replica, user?.seq ?? 0, device, t, now);
    });
  }

  async inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]> {
    return this.#read('reading messages', () => {
      const now = this.#now();
      const since = resolveTime(t, now)!;
      const user = currentUser(this.#st, this.#cache, uid);
      if (!user) return [];
      checkHistoryKept(since, user.replica.compactedBefore);
      return projectAll(messagesSince(this.#st, user, since), device, hiddenNow(user.replica, now));
    });
  }

  async messagesAfter(
    uid: string,
    device: string | null,
    seq: number,
    limit = Infinity,
  ): Promise<MessagesAfter> {
    return this.#read('reading messages', () => {
      const user = currentUser(this.#st, this.#cache, uid);
      if (!user) return { messages: [], seq: 0, truncated: false };
      const hidden = hiddenNow(user.replica, this.#now());
      const { messages, more } = messagesAfter(this.#st, user, seq, limit);
      return pageAfter(messages, seq, user.seq, more, device, hidden);
    });
  }

  async claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]> {
    return this.#write('claiming reminders', () =>
      claimDueReminders(this.#st, this.#cache, owner, now, limit, leaseMs),
    );
  }

  async completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void> {
    return this.#write('completing reminders', () => completeReminders(this.#st, owner, reminders));
  }

  async compact(cutoff: number, uid?: string): Promise<CompactionReport> {
    this.#open();
    const report = { cutoff, messages: 0, items: 0, intervals: 0 };
    try {
      const uids = uid === undefined ? this.#st.allUids.all().map((r) => r.uid) : [uid];
      for (const id of uids) {
        const counts = compactUser(this.#db, this.#st, this.#cache, id, cutoff);
        if (counts) addCounts(report, counts);
      }
    } catch (e) {
      throw toStorageError(e, 'compacting');
    }
    return report;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Calls accepted before close are written (or fail) before the file is closed.
    await this.#ingest.drain();
    this.#cache.clear();
    this.#db.close();
  }

  /** Runs reads in one snapshot so the user's row and the rows loaded with it agree. */
  #read<R>(doing: string, fn: () => R): R {
    this.#open();
    try {
      return this.#db.transaction(fn)();
    } catch (e) {
      throw toStorageError(e, doing);
    }
  }

  #write<R>(doing: string, fn: () => R): R {
    this.#open();
    try {
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      throw toStorageError(e, doing);
    }
  }

  #open(): void {
    if (this.#closed) throw new GregorError('CLOSED', 'the SQLite engine is closed');
  }
}
