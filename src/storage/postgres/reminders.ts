import type { Reminder } from '../../core/state-machine.js';
import { stillDue } from '../common/reminders.js';
import type { CachedUser } from '../common/replicas.js';
import type { PgPool } from './connection.js';

/** How reminders reach a user's current replica (the engine's validated cache). */
export type ReplicaOf = (uid: string) => Promise<CachedUser>;

/**
 * Claims due reminders with a lease. `FOR UPDATE SKIP LOCKED` lets several processes claim at
 * once without waiting on or double-claiming each other's rows. Reminders follow the stored item
 * (as in the memory engine): one whose item lost to an earlier creation, was dismissed everywhere
 * or expired is deleted without delivery, and the claim goes on until `limit` or no due rows remain.
 *
 * @example
 *   await claimDueReminders(pool, (uid) => currentUser(…, uid), 'worker-1', Date.now(), 100, 30_000);
 */
export async function claimDueReminders(
  pool: PgPool,
  replicaOf: ReplicaOf,
  owner: string,
  now: number,
  limit: number,
  leaseMs: number,
): Promise<Reminder[]> {
  const out: Reminder[] = [];
  while (out.length < limit) {
    const { rows } = await pool.query(
      `UPDATE gregor_reminders r SET lease_owner = $1, lease_until = $4
        WHERE (uid, item_id, remind_at) IN (
          SELECT uid, item_id, remind_at FROM gregor_reminders
           WHERE remind_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
           ORDER BY remind_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING r.uid, r.item_id, r.remind_at`,
      [owner, now, limit - out.length, now + leaseMs],
    );
    if (rows.length === 0) break;
    const dropped: { uid: string; id: string; at: number }[] = [];
    for (const r of rows) {
      const uid = r.uid as string;
      const id = r.item_id as string;
      const at = r.remind_at as number;
      const { replica } = await replicaOf(uid);
      const item = stillDue(replica, id, at);
      if (item) out.push({ uid, remindAt: at, item });
      else dropped.push({ uid, id, at });
    }
    if (dropped.length > 0) await completeRows(pool, owner, dropped);
  }
  return out;
}

/**
 * Deletes delivered reminders; rows leased to another owner since stay.
 *
 * @example
 *   await completeReminders(pool, 'worker-1', delivered);
 */
export async function completeReminders(
  pool: PgPool,
  owner: string,
  reminders: readonly Reminder[],
): Promise<void> {
  if (reminders.length === 0) return;
  await completeRows(
    pool,
    owner,
    reminders.map((r) => ({ uid: r.uid, id: r.item.id, at: r.remindAt })),
  );
}

async function completeRows(
  pool: PgPool,
  owner: string,
  rows: readonly { uid: string; id: string; at: number }[],
): Promise<void> {
  await pool.query(
    `DELETE FROM gregor_reminders r USING unnest($2::text[], $3::text[], $4::bigint[]) AS k(uid, item_id, remind_at)
      WHERE r.uid = k.uid AND r.item_id = k.item_id AND r.remind_at = k.remind_at AND r.lease_owner = $1`,
    [owner, rows.map((r) => r.uid), rows.map((r) => r.id), rows.map((r) => r.at)],
  );
}
