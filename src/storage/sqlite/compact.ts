import type { Database } from 'better-sqlite3';
import type { CompactionCounts } from '../common/compact.js';
import type { ReplicaCache } from '../common/replicas.js';
import { currentUser, type SqliteUser } from './replicas.js';
import type { Statements } from './statements.js';

/**
 * Compacts one user before `cutoff` in one IMMEDIATE transaction: the replica plans
 * (`UserState.compactionPlan`), and the same plan is applied to the tables and to the replica.
 * Returns null when the user does not exist.
 *
 * @example
 *   compactUser(db, st, cache, 'alice', Date.now() - 30 * 86_400_000); // { messages, items, intervals }
 */
export function compactUser(
  db: Database,
  st: Statements,
  cache: ReplicaCache<SqliteUser>,
  uid: string,
  cutoff: number,
): CompactionCounts | null {
  try {
    return db
      .transaction((): CompactionCounts | null => {
        const user = currentUser(st, cache, uid);
        if (!user) return null;
        const plan = user.replica.compactionPlan(cutoff);
        for (const t of plan.addTombstones) st.dismissId.run(user.id, t.id, t.scope, t.ctime);
        for (const id of plan.removeItems) {
          st.dropItem.run(user.id, id);
          st.dropItemReminders.run(user.id, id);
        }
        for (const i of plan.removeIntervals)
          st.dropInterval.run(user.id, i.category, i.scope, i.begin, i.end);
        const messages = st.dropMessagesBefore.run(user.id, cutoff).changes;
        user.replica.applyCompaction(plan);
        user.rev += 1;
        st.saveUser.run(user.seq, user.rev, user.replica.compactedBefore, user.id);
        return { messages, items: plan.removeItems.length, intervals: plan.removeIntervals.length };
      })
      .immediate();
  } catch (e) {
    cache.forget(uid);
    throw e;
  }
}
