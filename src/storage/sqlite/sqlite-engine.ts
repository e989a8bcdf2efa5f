import type { Database } from 'better-sqlite3';
import { decodeInBand } from '../../core/codec.js';
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
import { compactUser } from './compaction.js';
import { openConnection } from './connection.js';
import { toGregorError } from './errors.js';
import { IngestQueue } from './ingest-queue.js';
import { claimDue, completeClaimed } from './reminders.js';
import { ReplicaCache } from './replicas.js';
import { type MessageRow, Statements } from './statements.js';

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

/** Counters for tests and benchmarks. */
export interface SqliteEngineStats {
  /** Write transactions run by consumeMessage (each commits a batch). */
  readonly consumeTransactions: number;
  /** Messages written through those transactions (including duplicates and refusals). */
  readonly consumedMessages: number;
  /** Replicas loaded from the tables because the cache had none current. */
  readonly replicaLoads: number;
}

const NONE: ReadonlyMap<string, readonly string[]> = new Map();

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
  readonly #cache: ReplicaCache;
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
    this.#cache = new ReplicaCache(this.#st, options.cacheUsers ?? 1024);
    this.#now = options.now ?? Date.now;
    this.#ingest = new IngestQueue(db, this.#st, this.#cache, options.maxBatch ?? 1024);
  }

  /** Counters since open. */
  get stats(): SqliteEngineStats {
    return { ...this.#ingest.stats, replicaLoads: this.#cache.loads };
  }

  async consumeMessage(m: Message): Promise<ConsumeResult> {
    this.#open();
    if (m.kind === 'oob') return { status: 'relayed', seq: null, deadOnArrival: NONE };
    return this.#ingest.submit(m);
  }

  async state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State> {
    return this.#read('reading a state', () => {
      const now = this.#now();
      const user = this.#cache.current(uid);
      const replica = user?.replica ?? new UserState();
      checkHistoryKept(resolveTime(t, now), replica.compactedBefore);
      return stateView(uid, replica, user?.seq ?? 0, device, t, now);
    });
  }

  async inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]> {
    return this.#read('reading messages', () => {
      const now = this.#now();
      const since = resolveTime(t, now)!;
      const user = this.#cache.current(uid);
      if (!user) return [];
      checkHistoryKept(since, user.replica.compactedBefore);
      const rows = this.#st.messagesSince.all(user.id, since);
      return projectAll(
        rows.map((row) => toMessage(uid, row)),
        device,
        hiddenNow(user.replica, now),
      );
    });
  }

  async messagesAfter(
    uid: string,
    device: string | null,
    seq: number,
    limit = Infinity,
  ): Promise<MessagesAfter> {
    return this.#read('reading messages', () => {
      const user = this.#cache.current(uid);
      if (!user) return { messages: [], seq: 0, truncated: false };
      const hidden = hiddenNow(user.replica, this.#now());
      // One row past the limit tells whether more follow.
      const fetch = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) + 1 : -1;
      const rows = this.#st.messagesAfter.all(user.id, seq, fetch);
      const entries = rows.slice(0, limit).map((row) => ({ seq: row.seq, message: toMessage(uid, row) }));
      return pageAfter(entries, seq, user.seq, rows.length > limit, device, hidden);
    });
  }

  async claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]> {
    return this.#write('claiming reminders', () =>
      claimDue(this.#st, this.#cache, owner, now, limit, leaseMs),
    );
  }

  async completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void> {
    return this.#write('completing reminders', () => completeClaimed(this.#st, owner, reminders));
  }

  async compact(cutoff: number, uid?: string): Promise<CompactionReport> {
    this.#open();
    const report = { cutoff, messages: 0, items: 0, intervals: 0 };
    try {
      const uids = uid === undefined ? this.#st.allUids.all().map((r) => r.uid) : [uid];
      for (const id of uids) {
        const counts = compactUser(this.#db, this.#st, this.#cache, id, cutoff);
        if (!counts) continue;
        report.messages += counts.messages;
        report.items += counts.items;
        report.intervals += counts.intervals;
      }
    } catch (e) {
      throw toGregorError(e, 'compacting');
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
      throw toGregorError(e, doing);
    }
  }

  #write<R>(doing: string, fn: () => R): R {
    this.#open();
    try {
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      throw toGregorError(e, doing);
    }
  }

  #open(): void {
    if (this.#closed) throw new GregorError('CLOSED', 'the SQLite engine is closed');
  }
}

function toMessage(uid: string, row: MessageRow): InBandMessage {
  return decodeInBand({ uid, msgId: row.msg_id, ctime: row.ctime, device: row.device }, row.content);
}
