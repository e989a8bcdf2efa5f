import type { InBandMessage } from '../../protocol/message.js';
import { duplicate, NONE, type Outcome, refusalOf, stored } from '../common/consume.js';
import type { CachedUser, ReplicaCache } from '../common/replicas.js';
import { BatchRows } from './batch-rows.js';
import { inTransaction, type PgClient, type PgPool, type Row } from './connection.js';
import { toStorageError } from './errors.js';
import { cachedUser, loadReplicas, type UserRow, userRowOf } from './replicas.js';

/**
 * Writes a batch of in-band messages in one transaction and returns one outcome per message. A
 * refusal by a core rule fails only its message; any other error rolls the whole batch back,
 * forgets the replicas it touched, and is thrown.
 *
 * The batch first locks its users' rows, in uid order (so two batches never deadlock). The lock
 * serializes commits per user across every process writing this database: a user's seqs are
 * assigned and committed in one order, so a reader that sees seq S already sees every message
 * <= S. That is what lets devices resync by cursor without missing messages when several nodes
 * write for one user.
 *
 * @example
 *   const [outcome] = await writeBatch(pool, cache, [message]);
 */
export async function writeBatch(
  pool: PgPool,
  cache: ReplicaCache,
  batch: readonly InBandMessage[],
): Promise<Outcome[]> {
  try {
    return await attempt(pool, cache, batch, false);
  } catch (e) {
    // The fast path looks for duplicates in the snapshot taken before it waited for the locks; a
    // message another process committed meanwhile hits the unique key. Look again, after the locks.
    if ((e as { code?: unknown }).code !== '23505') throw toStorageError(e, 'consume');
    try {
      return await attempt(pool, cache, batch, true);
    } catch (again) {
      throw toStorageError(again, 'consume');
    }
  }
}

async function attempt(
  pool: PgPool,
  cache: ReplicaCache,
  batch: readonly InBandMessage[],
  carefully: boolean,
): Promise<Outcome[]> {
  const uids = [...new Set(batch.map((m) => m.md.uid))];
  const msgIds = [...new Set(batch.map((m) => m.md.msgId))];
  let users: Map<string, CachedUser> | undefined;
  try {
    const outcomes = await inTransaction(pool, async (client) => {
      const locked = await lockUsers(client, uids, carefully ? null : msgIds);
      const seen = carefully ? await seenMessages(client, uids, msgIds) : locked.seen;
      users = await replicas(client, cache, locked.users);
      // Readers must not see a replica ahead of its committed seq: take them out while we write.
      for (const uid of uids) cache.forget(uid);
      const rows = new BatchRows();
      const result = batch.map((m) => applyOne(m, users!.get(m.md.uid)!, seen, rows));
      await rows.write(client);
      return result;
    });
    for (const user of users!.values()) cache.adopt(user);
    return outcomes;
  } catch (e) {
    // Replicas were changed in memory for a transaction that did not commit.
    for (const uid of uids) cache.forget(uid);
    throw e;
  }
}

function applyOne(m: InBandMessage, user: CachedUser, seen: Map<string, number>, rows: BatchRows): Outcome {
  const key = `${m.md.uid}\0${m.md.msgId}`;
  const original = seen.get(key);
  if (original !== undefined) return duplicate(original);
  const refusal = refusalOf(m, user.replica.compactedBefore, user.replica);
  if (refusal) return { ok: false, error: refusal };
  const seq = ++user.seq;
  seen.set(key, seq);
  const deadOnArrival = m.kind === 'update' ? user.replica.apply(m).deadOnArrival : NONE;
  rows.add(m.md.uid, seq, m, (id) => user.replica.getItem(id)!);
  return stored(seq, deadOnArrival);
}

/**
 * One round trip creates missing users and locks every row, in uid order: the no-op update takes
 * the row lock and returns the row as the last committed writer left it. With `msgIds` it also
 * returns the batch's possible duplicates (from the statement's snapshot: see writeBatch).
 */
async function lockUsers(
  client: PgClient,
  uids: readonly string[],
  msgIds: readonly string[] | null,
): Promise<{ users: UserRow[]; seen: Map<string, number> }> {
  const lock = `INSERT INTO gregor_users AS u (uid) SELECT x FROM unnest($1::text[]) AS x ORDER BY x
     ON CONFLICT (uid) DO UPDATE SET seq = u.seq
     RETURNING uid, seq, version, compacted_before`;
  if (!msgIds) {
    const { rows } = await client.query({ name: 'gregor_lock', text: lock, values: [uids] });
    return { users: rows.map(userRowOf), seen: new Map() };
  }
  // Unnamed, so planned for these values: a generic plan for `= ANY($2)` can scan the whole table.
  const { rows } = await client.query({
    text: `WITH locked AS (${lock})
      SELECT uid, seq, version, compacted_before, NULL AS msg_id FROM locked
      UNION ALL
      SELECT uid, seq, NULL, NULL, msg_id FROM gregor_messages WHERE uid = ANY($1) AND msg_id = ANY($2)`,
    values: [uids, msgIds],
  });
  return {
    users: rows.filter((r) => r.msg_id === null).map(userRowOf),
    seen: seenMap(rows.filter((r) => r.msg_id !== null)),
  };
}

/** The users' cached replicas where current, the others loaded under the row lock. */
async function replicas(
  client: PgClient,
  cache: ReplicaCache,
  rows: readonly UserRow[],
): Promise<Map<string, CachedUser>> {
  const users = new Map<string, CachedUser>();
  const stale: UserRow[] = [];
  for (const row of rows) {
    const cached = cachedUser(cache, row);
    if (cached) users.set(row.uid, cached);
    else stale.push(row);
  }
  // No other writer can change these users until we commit.
  cache.loads += stale.length;
  for (const [uid, user] of await loadReplicas(client, stale)) users.set(uid, user);
  return users;
}

async function seenMessages(
  client: PgClient,
  uids: readonly string[],
  msgIds: readonly string[],
): Promise<Map<string, number>> {
  // ANY on both columns walks the (uid, msg_id) index; pairs that only match crosswise are harmless.
  const { rows } = await client.query(
    'SELECT uid, msg_id, seq FROM gregor_messages WHERE uid = ANY($1) AND msg_id = ANY($2)',
    [uids, msgIds],
  );
  return seenMap(rows);
}

function seenMap(rows: readonly Row[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.uid}\0${r.msg_id}`, r.seq as number]));
}
