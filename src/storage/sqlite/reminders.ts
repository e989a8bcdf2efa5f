import type { Reminder } from '../../core/state-machine.js';
import type { CachedUser, ReplicaCache } from './replicas.js';
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
 *   db.transaction(() => claimDue(st, cache, 'worker-1', Date.now(), 100, 30_000)).immediate();
 */
export function claimDue(
  st: Statements,
  cache: ReplicaCache,
  owner: string,
  now: number,
  limit: number,
  leaseMs: number,
): Reminder[] {
  const out: Reminder[] = [];
  const users = new Map<string, CachedUser | undefined>();
  let user = -1;
  let row = -1;
  while (out.length < limit) {
    const rows = st.dueReminders.all({ now, user, row, limit: PAGE });
    for (const r of rows) {
      if (out.length >= limit) return out;
      user = r.user_id;
      row = r.rowid;
      if (!users.has(r.uid)) users.set(r.uid, cache.current(r.uid));
      const replica = users.get(r.uid)?.replica;
      const item = replica?.getItem(r.item_id);
      if (
        !replica ||
        !item ||
        !item.remindAt.includes(r.remind_at) ||
        !replica.isVisible(item, null, null, r.remind_at)
      ) {
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

/** Deletes the reminders `owner` still holds; others' claims and unknown reminders are left alone. */
export function completeClaimed(st: Statements, owner: string, reminders: readonly Reminder[]): void {
  for (const r of reminders) st.completeReminder.run(r.uid, r.item.id, r.remindAt, owner);
}
