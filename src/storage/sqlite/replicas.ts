import { decodeBody, encodeBody } from '../../core/codec.js';
import { type StoredItem, UserState } from '../../core/user-state.js';
import type { ItemRow, Statements, UserRow } from './statements.js';

/** One user's replica as loaded from the tables, with the row version it reflects. */
export interface CachedUser {
  readonly uid: string;
  readonly id: number;
  seq: number;
  /** The `gregor_users.rev` this replica reflects: any writer bumps it, so a mismatch means reload. */
  rev: number;
  readonly replica: UserState;
}

/**
 * A bounded LRU of user replicas. Nothing is trusted blindly: every lookup reads the user's row
 * (one indexed SELECT) and reloads the replica when another process (or a failed batch) changed
 * it. Callers run lookups inside a transaction so the row and the rows loaded agree.
 *
 * @example
 *   const user = cache.current('alice'); // undefined when alice never sent an in-band message
 */
export class ReplicaCache {
  readonly #st: Statements;
  readonly #capacity: number;
  readonly #users = new Map<string, CachedUser>();
  /** Replicas loaded from the tables (cache misses), for tests and benchmarks. */
  loads = 0;

  constructor(st: Statements, capacity: number) {
    this.#st = st;
    this.#capacity = Math.max(0, capacity);
  }

  /** The user's current replica, or undefined when the user has no row. */
  current(uid: string): CachedUser | undefined {
    const row = this.#st.user.get(uid);
    if (!row) {
      this.#users.delete(uid);
      return undefined;
    }
    return this.cached(uid, row) ?? this.adopt(this.#load(uid, row));
  }

  /** The cached replica if it matches `row` (the user's row as just read), without loading. */
  cached(uid: string, row: UserRow): CachedUser | undefined {
    const hit = this.#users.get(uid);
    if (!hit) return undefined;
    this.#users.delete(uid);
    if (hit.id !== row.id || hit.rev !== row.rev) return undefined;
    this.#users.set(uid, hit);
    return hit;
  }

  /** Caches a replica known to be current (evicting the least recently used). */
  adopt(user: CachedUser): CachedUser {
    this.#users.delete(user.uid);
    if (this.#capacity === 0) return user;
    this.#users.set(user.uid, user);
    if (this.#users.size > this.#capacity) this.#users.delete(this.#users.keys().next().value!);
    return user;
  }

  /** Drops a replica that may no longer match the tables (its transaction failed). */
  forget(uid: string): void {
    this.#users.delete(uid);
  }

  /** Drops every replica. */
  clear(): void {
    this.#users.clear();
  }

  #load(uid: string, row: UserRow): CachedUser {
    this.loads += 1;
    const replica = new UserState();
    for (const r of this.#st.items.all(row.id)) replica.addItem(rowToItem(r));
    for (const d of this.#st.dismissedIds.all(row.id)) replica.addDismissedId(d.item_id, d.scope, d.ctime);
    for (const i of this.#st.intervals.all(row.id)) replica.addInterval(i);
    replica.compactedBefore = row.compacted_before;
    return { uid, id: row.id, seq: row.seq, rev: row.rev, replica };
  }
}

/**
 * The part of a user's replica that concerns some items: their stored rows, their ID tombstones,
 * and the interval tombstones of their categories. An update that creates these items (or a
 * reminder of one of them) gets the same answer from it as from the whole replica (winner, dead
 * on arrival, visibility), without loading every row of a user whose replica is not cached.
 *
 * @example
 *   partialReplica(st, user.id, update.create).apply(update).deadOnArrival;
 */
export function partialReplica(
  st: Statements,
  userId: number,
  items: readonly { readonly id: string; readonly category: string }[],
): UserState {
  const replica = new UserState();
  const categories = new Set<string>();
  for (const item of items) {
    const row = st.item.get(userId, item.id);
    if (row) replica.addItem(rowToItem(row));
    for (const d of st.dismissedIdsOf.all(userId, item.id)) replica.addDismissedId(item.id, d.scope, d.ctime);
    categories.add(item.category);
    if (row) categories.add(row.category);
  }
  for (const category of categories)
    for (const i of st.intervalsOf.all(userId, category)) replica.addInterval(i);
  return replica;
}

/**
 * An item row as the replica keeps it; the stored digest spares rehashing.
 *
 * @example
 *   replica.addItem(rowToItem(st.item.get(user.id, 'a1')!));
 */
export function rowToItem(r: ItemRow): StoredItem {
  return {
    id: r.item_id,
    category: r.category,
    created: r.created,
    expires: r.expires,
    remindAt: JSON.parse(r.remind_at) as number[],
    forDevice: r.for_device,
    body: decodeBody(r.body),
    msgId: r.msg_id,
    ctime: r.ctime,
    // A plain Uint8Array, as `itemDigest` returns: items compare equal across engines.
    digest: new Uint8Array(r.digest.buffer, r.digest.byteOffset, r.digest.byteLength),
  };
}

/**
 * Writes an item row (replacing the row of a creation it won against).
 *
 * @example
 *   putItem(st, user.id, replica.getItem('a1')!);
 */
export function putItem(st: Statements, userId: number, item: StoredItem): void {
  st.putItem.run(
    userId,
    item.id,
    item.msgId,
    item.ctime,
    item.category,
    item.created,
    item.expires,
    item.forDevice,
    JSON.stringify(item.remindAt),
    encodeBody(item.body),
    item.digest,
  );
}
