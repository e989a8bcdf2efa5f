import { UserState } from '../../core/user-state.js';
import { type CachedUser, type ItemRow, itemFromRow, type ReplicaCache } from '../common/replicas.js';
import { inTransaction, type PgPool, type PgQueryable, type Row } from './connection.js';
import { BEGIN_OF_TIME } from './migrations.js';

/** The `gregor_users` fields that tell whether a cached replica is current. */
export interface UserRow {
  readonly uid: string;
  readonly seq: number;
  /** The `version` column: bumped by compaction, which changes a replica without moving `seq`. */
  readonly rev: number;
  readonly compactedBefore: number;
}

/**
 * A `gregor_users` row selected as `uid, seq, version, compacted_before`.
 *
 * @example
 *   rows.map(userRowOf);
 */
export function userRowOf(row: Row): UserRow {
  return {
    uid: row.uid as string,
    seq: row.seq as number,
    rev: row.version as number,
    compactedBefore: row.compacted_before as number,
  };
}

const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
const USER = 'SELECT uid, seq, version, compacted_before FROM gregor_users WHERE uid = $1';

/**
 * The user's current replica: the cached one if its seq and rev match the database's, else loaded
 * (a user with no row has an empty replica at seq 0). `writing` tells the batch of this process
 * writing the user now, if any.
 *
 * @example
 *   const user = await currentUser(pool, cache, (uid) => ingest.writing(uid), 'alice');
 */
export async function currentUser(
  pool: PgPool,
  cache: ReplicaCache,
  writing: (uid: string) => Promise<unknown> | undefined,
  uid: string,
): Promise<CachedUser> {
  const { rows } = await pool.query(USER, [uid]);
  if (rows.length === 0) return emptyUser(uid);
  const cached = cachedUser(cache, userRowOf(rows[0]!));
  if (cached) return cached;
  // A batch of ours is writing this user: its committed replica, a moment newer than the head we
  // read, beats loading every row (a hot user would otherwise be loaded on nearly every read).
  const pending = writing(uid);
  if (pending) {
    await pending.catch(() => {});
    const fresh = cache.latest(uid);
    if (fresh) return fresh;
  }
  // Head and rows from one snapshot, so the state's seq always matches its items.
  const loaded = await inTransaction(
    pool,
    async (client) => {
      const again = await client.query(USER, [uid]);
      return (await loadReplicas(client, again.rows.map(userRowOf))).get(uid);
    },
    SNAPSHOT,
  );
  if (!loaded) return emptyUser(uid);
  cache.loads += 1;
  return cache.adopt(loaded);
}

/**
 * The cached replica if it matches `row` (the user's row as just read), without loading.
 *
 * @example
 *   const user = cachedUser(cache, userRowOf(row));
 */
export function cachedUser(cache: ReplicaCache, row: UserRow): CachedUser | undefined {
  return cache.current(row.uid, (u) => u.seq === row.seq && u.rev === row.rev);
}

function emptyUser(uid: string): CachedUser {
  return { uid, replica: new UserState(), seq: 0, rev: 0 };
}

/**
 * Loads the replicas of users from their rows. Call it inside the snapshot (or the lock) the
 * user rows were read in, so each replica matches its seq.
 *
 * @example
 *   const users = await loadReplicas(client, rows.map(userRowOf)); // uid -> CachedUser
 */
export async function loadReplicas(
  q: PgQueryable,
  users: readonly UserRow[],
): Promise<Map<string, CachedUser>> {
  const out = new Map<string, CachedUser>();
  if (users.length === 0) return out;
  for (const u of users) {
    const replica = new UserState();
    replica.compactedBefore = u.compactedBefore;
    out.set(u.uid, { uid: u.uid, replica, seq: u.seq, rev: u.rev });
  }
  // A user who never stored a message and was never compacted has no rows yet.
  const uids = users.filter((u) => u.seq > 0 || u.rev > 0).map((u) => u.uid);
  if (uids.length === 0) return out;
  const items = await q.query<ItemRow & { uid: string }>(
    `SELECT uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest
       FROM gregor_items WHERE uid = ANY($1)`,
    [uids],
  );
  for (const r of items.rows) out.get(r.uid)!.replica.addItem(itemFromRow(r));
  const ids = await q.query(
    'SELECT uid, item_id, scope, ctime FROM gregor_dismissed_ids WHERE uid = ANY($1)',
    [uids],
  );
  for (const r of ids.rows) {
    out
      .get(r.uid as string)!
      .replica.addDismissedId(r.item_id as string, r.scope as string, r.ctime as number);
  }
  const intervals = await q.query(
    `SELECT uid, category, scope, NULLIF(begin_at, ${BEGIN_OF_TIME}) AS begin_at, end_at, ctime
       FROM gregor_dismissed_intervals WHERE uid = ANY($1)`,
    [uids],
  );
  for (const r of intervals.rows) {
    out.get(r.uid as string)!.replica.addInterval({
      category: r.category as string,
      scope: r.scope as string,
      begin: (r.begin_at as number | null) ?? null,
      end: r.end_at as number,
      ctime: r.ctime as number,
    });
  }
  return out;
}
