import type { CompactionPlan } from '../../core/user-state.js';
import { inTransaction, type PgClient, type PgPool } from './driver.js';
import { BEGIN_OF_TIME } from './migrations.js';
import { headFromRow, type LoadedUser, loadReplicas } from './replicas.js';

/** What compacting one user removed (summed into a CompactionReport). */
export interface UserCompaction {
  readonly messages: number;
  readonly items: number;
  readonly intervals: number;
  /** The replica after compaction, for the cache; `null` when the user does not exist. */
  readonly user: LoadedUser | null;
}

/**
 * Compacts one user in one transaction under their row lock, with the plan of the shared
 * `UserState.compactionPlan`, so every engine removes exactly the same things.
 */
export function compactUser(pool: PgPool, uid: string, cutoff: number): Promise<UserCompaction> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      'SELECT uid, seq, version, compacted_before FROM gregor_users WHERE uid = $1 FOR UPDATE',
      [uid],
    );
    if (rows.length === 0) return { messages: 0, items: 0, intervals: 0, user: null };
    const head = headFromRow(rows[0]!);
    const user = (await loadReplicas(client, [head])).get(uid)!;
    const plan = user.replica.compactionPlan(cutoff);
    user.replica.applyCompaction(plan);
    await writePlan(client, uid, plan);
    const deleted = await client.query('DELETE FROM gregor_messages WHERE uid = $1 AND ctime < $2', [
      uid,
      cutoff,
    ]);
    await client.query(
      `UPDATE gregor_users SET compacted_before = greatest(compacted_before, $2), version = version + 1
        WHERE uid = $1`,
      [uid, cutoff],
    );
    user.version = head.version + 1;
    return {
      messages: deleted.rowCount ?? 0,
      items: plan.removeItems.length,
      intervals: plan.removeIntervals.length,
      user,
    };
  });
}

async function writePlan(client: PgClient, uid: string, plan: CompactionPlan): Promise<void> {
  const tombstones = new Map<string, { id: string; scope: string; ctime: number }>();
  for (const t of plan.addTombstones) {
    const key = `${t.id}\0${t.scope}`;
    const old = tombstones.get(key);
    if (!old || t.ctime < old.ctime) tombstones.set(key, t);
  }
  if (tombstones.size > 0) {
    const ts = [...tombstones.values()];
    await client.query(
      `INSERT INTO gregor_dismissed_ids AS t (uid, item_id, scope, ctime)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (uid, item_id, scope) DO UPDATE SET ctime = least(t.ctime, excluded.ctime)`,
      [uid, ts.map((t) => t.id), ts.map((t) => t.scope), ts.map((t) => t.ctime)],
    );
  }
  if (plan.removeItems.length > 0) {
    const ids = [...plan.removeItems];
    await client.query('DELETE FROM gregor_items WHERE uid = $1 AND item_id = ANY($2)', [uid, ids]);
    await client.query('DELETE FROM gregor_reminders WHERE uid = $1 AND item_id = ANY($2)', [uid, ids]);
  }
  if (plan.removeIntervals.length > 0) {
    const is = plan.removeIntervals;
    await client.query(
      `DELETE FROM gregor_dismissed_intervals d
        USING unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS k(category, scope, begin_at, end_at)
        WHERE d.uid = $1 AND d.category = k.category AND d.scope = k.scope
          AND d.begin_at = coalesce(k.begin_at, ${BEGIN_OF_TIME}) AND d.end_at = k.end_at`,
      [uid, is.map((i) => i.category), is.map((i) => i.scope), is.map((i) => i.begin), is.map((i) => i.end)],
    );
  }
}
