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
    const hit = this.#users.get(uid);
    if (hit && hit.id === row.id && hit.rev === row.rev) {
      this.#users.delete(uid);
      this.#users.set(uid, hit);
      return hit;
    }
    return this.#remember(this.#load(uid, row));
  }

  /** Like `current`, creating the user's row first if needed (inside a write transaction). */
  currentOrNew(uid: string): CachedUser {
    const user = this.current(uid);
    if (user) return user;
    const row = this.#st.insertUser.get(uid)!;
    return this.#remember({ uid, id: row.id, seq: row.seq, rev: row.rev, replica: new UserState() });
  }

  /** Drops a replica that may no longer match the tables (its transaction failed). */
  forget(uid: string): void {
    this.#users.delete(uid);
  }

  /** Drops every replica. */
  clear(): void {
    this.#users.clear();
  }

  #remember(user: CachedUser): CachedUser {
    this.#users.delete(user.uid);
    if (this.#capacity === 0) return user;
    this.#users.set(user.uid, user);
    if (this.#users.size > this.#capacity) this.#users.delete(this.#users.keys().next().value!);
    return user;
  }

  #load(uid: string, row: UserRow): CachedUser {
    this.loads += 1;
    const replica = new UserState();
    for (const r of this.#st.items.all(uid)) replica.addItem(rowToItem(r));
    for (const d of this.#st.dismissedIds.all(uid)) replica.addDismissedId(d.item_id, d.scope, d.ctime);
    for (const i of this.#st.intervals.all(uid)) replica.addInterval(i);
    replica.compactedBefore = row.compacted_before;
    return { uid, id: row.id, seq: row.seq, rev: row.rev, replica };
  }
}

/** An item row as the replica keeps it; the stored digest spares rehashing. */
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
    // The driver's Buffer, as `itemDigest` returns on Node: items compare equal across engines.
    digest: r.digest,
  };
}

/** Writes an item row (replacing the row of a creation it won against). */
export function putItem(st: Statements, uid: string, item: StoredItem): void {
  st.putItem.run(
    uid,
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
