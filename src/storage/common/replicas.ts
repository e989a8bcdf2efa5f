// What both SQL engines' `replicas.ts` share: the cached user, the bounded cache of them, and an
// item row decoded into the item a replica keeps.

import { decodeBody } from '../../core/codec.js';
import type { StoredItem, UserState } from '../../core/user-state.js';

/** One user's replica as loaded from the tables, with the position of the user's row it reflects. */
export interface CachedUser {
  readonly uid: string;
  /** The user's head sequence number the replica reflects (0: no message yet). */
  seq: number;
  /**
   * The row's revision the replica reflects. SQLite's `gregor_users.rev` is bumped by every write
   * to the user; PostgreSQL's `gregor_users.version` only by compaction (the one change that does
   * not move `seq`). A cached replica is current while its row still says the same.
   */
  rev: number;
  readonly replica: UserState;
}

/**
 * A bounded least-recently-used cache of replicas. Entries are hints: every reader checks an entry
 * against the user's row (other processes write too) before trusting it.
 *
 * @example
 *   const cache = new ReplicaCache<CachedUser>(1024);
 *   cache.current('alice', (u) => u.seq === row.seq && u.rev === row.rev); // undefined unless current
 */
export class ReplicaCache<U extends CachedUser = CachedUser> {
  readonly #capacity: number;
  readonly #users = new Map<string, U>();
  /** Replicas loaded from the tables because none here was current (counted by the loaders). */
  loads = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(0, capacity);
  }

  /** The cached replica if `isCurrent` says it matches the user's row as just read; a stale one is dropped. */
  current(uid: string, isCurrent: (cached: U) => boolean): U | undefined {
    const hit = this.#users.get(uid);
    if (!hit) return undefined;
    this.#users.delete(uid);
    if (!isCurrent(hit)) return undefined;
    this.#users.set(uid, hit);
    return hit;
  }

  /** The entry whatever its row says: only right just after this process committed it. */
  latest(uid: string): U | undefined {
    return this.#users.get(uid);
  }

  /** Caches a replica known to be current (evicting the least recently used). */
  adopt(user: U): U {
    this.#users.delete(user.uid);
    if (this.#capacity === 0) return user;
    this.#users.set(user.uid, user);
    if (this.#users.size > this.#capacity) this.#users.delete(this.#users.keys().next().value!);
    return user;
  }

  /** Drops a replica that may no longer match the tables (its transaction failed, or is running). */
  forget(uid: string): void {
    this.#users.delete(uid);
  }

  /** Drops every replica. */
  clear(): void {
    this.#users.clear();
  }
}

/** A `gregor_items` row, as both engines read it. */
export interface ItemRow {
  readonly item_id: string;
  readonly msg_id: string;
  readonly ctime: number;
  readonly category: string;
  readonly created: number;
  readonly expires: number | null;
  readonly for_device: string | null;
  /** JSON text in SQLite; PostgreSQL's jsonb comes already parsed by the driver. */
  readonly remind_at: string | readonly number[];
  readonly body: string;
  readonly digest: Uint8Array;
}

/**
 * An item row as the replica keeps it; the stored digest spares rehashing.
 *
 * @example
 *   replica.addItem(itemFromRow(row));
 */
export function itemFromRow(r: ItemRow): StoredItem {
  return {
    id: r.item_id,
    category: r.category,
    created: r.created,
    expires: r.expires ?? null,
    remindAt: typeof r.remind_at === 'string' ? (JSON.parse(r.remind_at) as number[]) : r.remind_at,
    forDevice: r.for_device ?? null,
    body: decodeBody(r.body),
    msgId: r.msg_id,
    ctime: r.ctime,
    // A plain Uint8Array, as `itemDigest` returns: a driver's Buffer would make equal items compare unequal.
    digest: new Uint8Array(r.digest.buffer, r.digest.byteOffset, r.digest.byteLength),
  };
}
