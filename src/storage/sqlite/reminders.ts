import type { Reminder } from '../../core/state-machine.js';
import { UserState } from '../../core/user-state.js';
import { stillDue } from '../common/reminders.js';
import type { ReplicaCache } from '../common/replicas.js';
import { cachedUser, partialReplica, type SqliteUser } from './replicas.js';
import type { Statements } from './statements.js';

/** Due reminders read per query while claiming. */
const PAGE = 256;

/**
 * Claims up to `limit` due reminders for `owner` (see `Engine.claimDueReminders`). The caller
 * runs it in an IMMEDIATE transaction: one claimer at a time across processes, so a reminder is
 * never claimed twice while its lease runs. Scans in the memory engine's order (users by
 * creation, reminders by insertion); reminders that no longer follow their stored item are deleted.
 *
 * @example
 *   db.transaction(() => claimDueReminders(st, cache, 'worker-1', Date.now(), 100, 30_000)).immediate();
 */
export function claimDueReminders(
  st: Statements,
  cache: ReplicaCache<SqliteUser>,
  owner: string,
  now: number,
  limit: number,
  leaseMs: number,
): Reminder[] {
  const out: Reminder[] = [];
  let user = -1;
  let row = -1;
  while (out.length < limit) {
    const rows = st.dueReminders.all({ now, user, row, limit: PAGE });
    for (const r of rows) {
      if (out.length >= limit) return out;
      user = r.user_id;
      row = r.rowid;
      const item = stillDue(replicaFor(st, cache, r.uid, r.item_id), r.item_id, r.remind_at);
      if (!item) {
        st.dropReminder.run(r.rowid);
        continue;
      }
      st.leaseReminder.run(owner, now + leaseMs, r.rowid);
      out.push({ uid: r.uid, remindAt: r.remind_at, item });
    }
    if (rows.length < PAGE) break;
  }
  return out;
}

/** The user's cached replica if current, else the part of it that concerns one item. */
function replicaFor(
  st: Statements,
  cache: ReplicaCache<SqliteUser>,
  uid: string,
  itemId: string,
): UserState | undefined {
  const row = st.user.get(uid);
  if (!row) return undefined;
  const cached = cachedUser(cache, uid, row)?.replica;
  if (cached) return cached;
  const item = st.item.get(row.id, itemId);
  return item ? partialReplica(st, row.id, [{ id: itemId, category: item.category }]) : new UserState();
}

/**
 * Deletes the reminders `owner` still holds; others' claims and unknown reminders are left alone.
 *
 * @example
 *   db.transaction(() => completeReminders(st, 'worker-1', delivered)).immediate();
 */
export function completeReminders(st: Statements, owner: string, reminders: readonly Reminder[]): void {
  for (const r of reminders) st.completeReminder.run(r.uid, r.item.id, r.remindAt, owner);
}
