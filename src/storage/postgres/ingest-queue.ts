import type { ConsumeResult } from '../../core/state-machine.js';
import type { InBandMessage } from '../../protocol/message.js';
import { type Outcome, resultOf } from '../common/consume.js';
import { GroupCommit } from '../common/group-commit.js';
import type { ReplicaCache } from '../common/replicas.js';
import type { EngineStats } from '../common/stats.js';
import type { PgPool } from './connection.js';
import { writeBatch } from './consume.js';

/**
 * Group commit for consumeMessage. Users are split over lanes by a hash of their ID; each lane is
 * a GroupCommit with one transaction in flight, so one batch is built while another waits for its
 * WAL flush, and a user always uses the same lane, so in-process batches never share a replica.
 * Each caller settles after its batch: stored/duplicate, or its own refusal. When a transaction
 * fails (nothing of it is written), GroupCommit writes each of its messages again alone, once, in
 * order, so a message the database refuses fails only itself.
 *
 * @example
 *   const queue = new IngestQueue(pool, cache, 512, 4);
 *   const result = await queue.submit(message);
 */
export class IngestQueue {
  readonly #pool: PgPool;
  readonly #cache: ReplicaCache;
  readonly #lanes: GroupCommit<InBandMessage, Outcome>[];
  /** uid -> the batch writing it now; its cache entry is out while the write is in flight. */
  readonly #writing = new Map<string, Promise<unknown>>();
  #transactions = 0;
  #messages = 0;

  constructor(pool: PgPool, cache: ReplicaCache, maxBatch: number, writers: number) {
    this.#pool = pool;
    this.#cache = cache;
    this.#lanes = Array.from(
      { length: Math.max(1, writers) },
      () => new GroupCommit<InBandMessage, Outcome>((batch) => this.#write(batch), maxBatch),
    );
  }

  get stats(): Omit<EngineStats, 'replicaLoads'> {
    return { consumeTransactions: this.#transactions, consumedMessages: this.#messages };
  }

  async submit(message: InBandMessage): Promise<ConsumeResult> {
    return resultOf(await this.#lanes[laneOf(message.md.uid, this.#lanes.length)]!.submit(message));
  }

  /** The batch of this process writing `uid` now, if any: its replica is out of the cache until it settles. */
  writing(uid: string): Promise<unknown> | undefined {
    return this.#writing.get(uid);
  }

  #write(batch: readonly InBandMessage[]): Promise<readonly Outcome[]> {
    this.#transactions += 1;
    this.#messages += batch.length;
    const p = writeBatch(this.#pool, this.#cache, batch);
    const uids = new Set(batch.map((m) => m.md.uid));
    for (const uid of uids) this.#writing.set(uid, p);
    const forget = () => {
      for (const uid of uids) if (this.#writing.get(uid) === p) this.#writing.delete(uid);
    };
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
