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
import { GroupCommit } from '../common/group-commit.js';
import { compactUser } from './compact.js';
import { consumeBatch, type Outcome } from './consume.js';
import { createPool, inTransaction, type PgPool } from './driver.js';
import { toStorageError } from './errors.js';
import { messagesFrom } from './messages.js';
import { migrate } from './migrations.js';
import { claimDueReminders, completeReminders } from './reminders.js';
import { headFromRow, type LoadedUser, loadReplicas, ReplicaCache } from './replicas.js';

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

const NONE: ReadonlyMap<string, readonly string[]> = new Map();
const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/**
 * Opens the PostgreSQL engine: migrates the schema, then serves the Engine interface with the
 * semantics of the memory engine (they live in the shared UserState).
 *
 * @example
 *   const engine = await openPostgresEngine({ connectionString: 'postgres://127.0.0.1/gregor' });
 *   await engine.consumeMessage(message);
 *   await engine.close();
 */
export async function openPostgresEngine(options: PostgresEngineOptions): Promise<PostgresEngine> {
  const pool = createPool(options.connectionString, options.poolSize ?? 10);
  try {
    await migrate(pool);
  } catch (e) {
    await pool.end().catch(() => {});
    throw toStorageError(e, 'open');
  }
  return new PostgresEngine(pool, options);
}

export class PostgresEngine implements Engine {
  readonly #pool: PgPool;
  readonly #now: () => number;
  readonly #cache: ReplicaCache;
  readonly #lanes: GroupCommit<InBandMessage, Outcome>[];
  readonly #inFlight = new Set<Promise<unknown>>();
  /** uid -> the batch writing it now; its cache entry is out while the write is in flight. */
  readonly #writing = new Map<string, Promise<unknown>>();
  #closing: Promise<void> | null = null;
  #transactions = 0;

  /** Use `openPostgresEngine`, which migrates first. */
  constructor(pool: PgPool, options: PostgresEngineOptions) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
    this.#cache = new ReplicaCache(options.cacheUsers ?? 10_000);
    this.#lanes = Array.from(
      { length: Math.max(1, options.writers ?? 4) },
      () => new GroupCommit<InBandMessage, Outcome>((batch) => this.#write(batch), options.maxBatch ?? 512),
    );
  }

  /** Group-commit transactions run so far (for tests and metrics). */
  get transactions(): number {
    return this.#transactions;
  }

  consumeMessage(m: Message): Promise<ConsumeResult> {
    return this.#run(async () => {
      if (m.kind === 'oob') return { status: 'relayed', seq: null, deadOnArrival: NONE };
      const outcome = await this.#lanes[laneOf(m.md.uid, this.#lanes.length)]!.submit(m);
      if ('error' in outcome) throw outcome.error;
      return outcome.ok;
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
      const { messages } = await messagesFrom(this.#pool, uid, { ctimeAfter: since, seqAtMost: user.seq });
      return projectAll(
        messages.map((e) => e.message),
        device,
        hidden,
      );
    }, 'read');
  }

  messagesAfter(uid: string, device: string | null, seq: number, limit = Infinity): Promise<MessagesAfter> {
    return this.#run(async () => {
      const user = await this.#user(uid);
      if (user.seq === 0) return { messages: [], seq: 0, truncated: false };
      const head = user.seq;
      const hidden = hiddenNow(user.replica, this.#now());
      // Only up to the head we read: every message <= head is committed (see consume.ts).
      const { messages, more } = await messagesFrom(this.#pool, uid, {
        seqAfter: seq,
        seqAtMost: head,
        limit,
      });
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
        this.#cache.delete(u);
        const done = await compactUser(this.#pool, u, cutoff);
        report.messages += done.messages;
        report.items += done.items;
        report.intervals += done.intervals;
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

  /** The user's current replica: the cached one if its seq and version match the database's. */
  async #user(uid: string): Promise<LoadedUser> {
    const { rows } = await this.#pool.query(
      'SELECT uid, seq, version, compacted_before FROM gregor_users WHERE uid = $1',
      [uid],
    );
    if (rows.length === 0) return { replica: new UserState(), seq: 0, version: 0 };
    const cached = this.#cache.current(headFromRow(rows[0]!));
    if (cached) return cached;
    // A batch of ours is writing this user: its committed replica, a moment newer than the head we
    // read, beats loading every row (a hot user would otherwise be loaded on nearly every read).
    const writing = this.#writing.get(uid);
    if (writing) {
      await writing.catch(() => {});
      const fresh = this.#cache.latest(uid);
      if (fresh) return fresh;
    }
    // Head and rows from one snapshot, so the state's seq always matches its items.
    const loaded = await inTransaction(
      this.#pool,
      async (client) => {
        const again = await client.query(
          'SELECT uid, seq, version, compacted_before FROM gregor_users WHERE uid = $1',
          [uid],
        );
        return (await loadReplicas(client, again.rows.map(headFromRow))).get(uid);
      },
      SNAPSHOT,
    );
    if (!loaded) return { replica: new UserState(), seq: 0, version: 0 };
    this.#cache.set(uid, loaded);
    return loaded;
  }

  #write(batch: readonly InBandMessage[]): Promise<readonly Outcome[]> {
    this.#transactions++;
    const p = consumeBatch(this.#pool, this.#cache, batch);
    const uids = new Set(batch.map((m) => m.md.uid));
    for (const uid of uids) this.#writing.set(uid, p);
    const forget = () => {
      for (const uid of uids) if (this.#writing.get(uid) === p) this.#writing.delete(uid);
    };
    p.then(forget, forget);
    return p;
  }

  /** Runs a call unless closed, translating driver errors and tracking it so close() can wait. */
  #run<T>(body: () => Promise<T>, what: string): Promise<T> {
    if (this.#closing) return Promise.reject(new GregorError('CLOSED', 'the PostgreSQL engine is closed'));
    const p = body().catch((e: unknown) => {
      throw toStorageError(e, what);
    });
    this.#inFlight.add(p);
    const forget = () => this.#inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }
}

/** FNV-1a of the uid: cheap, and stable for the life of the process (all a lane needs). */
function laneOf(uid: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < uid.length; i++) h = Math.imul(h ^ uid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}
