import type { Database } from 'better-sqlite3';
import type { ConsumeResult } from '../../core/state-machine.js';
import type { GregorError } from '../../protocol/errors.js';
import type { InBandMessage } from '../../protocol/message.js';
import type { Outcome } from '../common/consume.js';
import { GroupCommit, worthRetryingAlone } from '../common/group-commit.js';
import type { ReplicaCache } from '../common/replicas.js';
import type { EngineStats } from '../common/stats.js';
import { writeBatch } from './consume.js';
import { toStorageError } from './errors.js';
import type { SqliteUser } from './replicas.js';
import type { Statements } from './statements.js';

interface Waiter {
  readonly message: InBandMessage;
  readonly resolve: (r: ConsumeResult) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Group commit for consumeMessage. better-sqlite3 writes synchronously, so a bare GroupCommit
 * would write the first call of a burst alone; instead calls made in the same turn of the event
 * loop are gathered and handed to GroupCommit as one batch (at most `maxBatch` messages), written
 * by one transaction. Each caller settles after its batch: stored/duplicate, or its own refusal.
 * When the transaction fails (nothing of it is written), each of its messages is written again
 * alone, once, in order, so a message the database refuses fails only itself.
 *
 * @example
 *   const queue = new IngestQueue(db, st, cache, 512);
 *   const result = await queue.submit(message);
 */
export class IngestQueue {
  readonly #db: Database;
  readonly #st: Statements;
  readonly #cache: ReplicaCache<SqliteUser>;
  readonly #maxBatch: number;
  readonly #commit: GroupCommit<readonly InBandMessage[], readonly Outcome[]>;
  readonly #inflight = new Set<Promise<void>>();
  #turn: Waiter[] | null = null;
  #transactions = 0;
  #messages = 0;

  constructor(db: Database, st: Statements, cache: ReplicaCache<SqliteUser>, maxBatch: number) {
    this.#db = db;
    this.#st = st;
    this.#cache = cache;
    this.#maxBatch = Math.max(1, maxBatch);
    // Each submission is already a whole batch: one per transaction.
    this.#commit = new GroupCommit((batches) => batches.map((b) => this.#write(b)), 1);
  }

  get stats(): Omit<EngineStats, 'replicaLoads'> {
    return { consumeTransactions: this.#transactions, consumedMessages: this.#messages };
  }

  submit(message: InBandMessage): Promise<ConsumeResult> {
    return new Promise((resolve, reject) => {
      if (this.#turn === null) {
        this.#turn = [];
        setImmediate(() => this.#flush());
      }
      this.#turn.push({ message, resolve, reject });
    });
  }

  /** Writes everything submitted so far and waits until every caller is settled. */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #flush(): void {
    const turn = this.#turn ?? [];
    this.#turn = null;
    for (let i = 0; i < turn.length; i += this.#maxBatch) {
      const waiters = turn.slice(i, i + this.#maxBatch);
      const done = this.#commit
        .submit(waiters.map((w) => w.message))
        .then(
          (outcomes) => settle(waiters, outcomes),
          (e: unknown) => {
            for (const w of waiters) w.reject(e);
          },
        )
        .finally(() => this.#inflight.delete(done));
      this.#inflight.add(done);
    }
  }

  #write(batch: readonly InBandMessage[]): readonly Outcome[] {
    let error: GregorError;
    try {
      return this.#transaction(batch);
    } catch (e) {
      error = toStorageError(e, `writing a batch of ${batch.length} messages`);
    }
    if (batch.length === 1 || !worthRetryingAlone(error)) throw error;
    // writeBatch forgot the replicas it touched: each retry starts from the committed rows.
    return batch.map((m): Outcome => {
      try {
        return this.#transaction([m])[0]!;
      } catch (e) {
        return { ok: false, error: toStorageError(e, 'writing a message') };
      }
    });
  }

  #transaction(batch: readonly InBandMessage[]): Outcome[] {
    this.#transactions += 1;
    this.#messages += batch.length;
    return writeBatch(this.#db, this.#st, this.#cache, batch);
  }
}

function settle(waiters: readonly Waiter[], outcomes: readonly Outcome[]): void {
  waiters.forEach((w, i) => {
    const o = outcomes[i]!;
    if (o.ok) w.resolve(o.value);
    else w.reject(o.error);
  });
}
