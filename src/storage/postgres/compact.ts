import type { CompactionPlan } from '../../core/user-state.js';
import type { CompactionCounts } from '../common/compact.js';
import { inTransaction, type PgClient, type PgPool } from './connection.js';
import { BEGIN_OF_TIME } from './migrations.js';
import { loadReplicas, userRowOf } from './replicas.js';

/**
 * Compacts one user before `cutoff` in one transaction under their row lock: the replica plans
 * (`UserState.compactionPlan`), so every engine removes exactly the same things, and the plan is
 * applied to the tables. Returns null when the user does not exist. The caller drops the user's
 * cached replica first.
 *
 * @example
 *   await compactUser(pool, 'alice', Date.now() - 30 * 86_400_000); // { messages, items, intervals }
 */
export function compactUser(pool: PgPool, uid: string, cutoff: number): Promise<CompactionCounts | null> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      'SELECT uid, seq, version, compacted_before FROM gregor_users WHERE uid = $1 FOR UPDATE',
      [uid],
    );
    if (rows.length === 0) return null;
    const { replica } = (await loadReplicas(client, [userRowOf(rows[0]!)])).get(uid)!;
    const plan = replica.compactionPlan(cutoff);
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
    return {
      messages: deleted.rowCount ?? 0,
      items: plan.removeItems.length,
      intervals: plan.removeIntervals.length,
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
