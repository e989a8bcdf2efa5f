import { encodeBody } from '../../core/codec.js';
import { type StoredItem, UserState } from '../../core/user-state.js';
import { type CachedUser, itemFromRow, type ReplicaCache } from '../common/replicas.js';
import type { Statements, UserRow } from './statements.js';

/** A cached user, with the `gregor_users.id` its rows are keyed by. */
export interface SqliteUser extends CachedUser {
  readonly id: number;
}

/**
 * The user's current replica, or undefined when the user has no row. Nothing cached is trusted
 * blindly: the user's row is read (one indexed SELECT) and the replica reloaded when another
 * process (or a failed batch) changed it. Call it inside a transaction, so the row and the rows
 * loaded agree.
 *
 * @example
 *   const user = currentUser(st, cache, 'alice'); // undefined when alice never sent an in-band message
 */
export function currentUser(
  st: Statements,
  cache: ReplicaCache<SqliteUser>,
  uid: string,
): SqliteUser | undefined {
  const row = st.user.get(uid);
  if (!row) {
    cache.forget(uid);
    return undefined;
  }
  return cachedUser(cache, uid, row) ?? cache.adopt(loadUser(st, cache, uid, row));
}

/**
 * The cached replica if it matches `row` (the user's row as just read), without loading.
 *
 * @example
 *   const user = cachedUser(cache, 'alice', st.user.get('alice')!);
 */
export function cachedUser(
  cache: ReplicaCache<SqliteUser>,
  uid: string,
  row: UserRow,
): SqliteUser | undefined {
  return cache.current(uid, (u) => u.id === row.id && u.rev === row.rev);
}

function loadUser(st: Statements, cache: ReplicaCache<SqliteUser>, uid: string, row: UserRow): SqliteUser {
  cache.loads += 1;
  const replica = new UserState();
  for (const r of st.items.all(row.id)) replica.addItem(itemFromRow(r));
  for (const d of st.dismissedIds.all(row.id)) replica.addDismissedId(d.item_id, d.scope, d.ctime);
  for (const i of st.intervals.all(row.id)) replica.addInterval(i);
  replica.compactedBefore = row.compacted_before;
  return { uid, id: row.id, seq: row.seq, rev: row.rev, replica };
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
    if (row) replica.addItem(itemFromRow(row));
    for (const d of st.dismissedIdsOf.all(userId, item.id)) replica.addDismissedId(item.id, d.scope, d.ctime);
    categories.add(item.category);
    if (row) categories.add(row.category);
  }
  for (const category of categories)
    for (const i of st.intervalsOf.all(userId, category)) replica.addInterval(i);
  return replica;
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
