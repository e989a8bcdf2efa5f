import { checkNotTooOld } from '../../core/rules.js';
import type { ConsumeResult } from '../../core/state-machine.js';
import type { InBandMessage } from '../../protocol/message.js';
import { BatchRows } from './batch-rows.js';
import { inTransaction, type PgClient, type PgPool } from './driver.js';
import { toStorageError } from './errors.js';
import { headFromRow, type LoadedUser, loadReplicas, type ReplicaCache, type UserHead } from './replicas.js';

/** One caller's outcome: a batch settles every caller, but a refused message fails only its own. */
export type Outcome = { readonly ok: ConsumeResult } | { readonly error: unknown };

const NONE: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Writes a batch of in-band messages in one transaction.
 *
 * The batch first locks its users' rows, in uid order (so two batches never deadlock). The lock
 * serializes commits per user across every process writing this database: a user's seqs are
 * assigned and committed in one order, so a reader that sees seq S already sees every message
 * <= S. That is what lets devices resync by cursor without missing messages when several nodes
 * write for one user.
 */
export async function consumeBatch(
  pool: PgPool,
  cache: ReplicaCache,
  batch: readonly InBandMessage[],
): Promise<Outcome[]> {
  const uids = [...new Set(batch.map((m) => m.md.uid))];
  let users: Map<string, LoadedUser> | undefined;
  try {
    const outcomes = await inTransaction(pool, async (client) => {
      users = await lockUsers(client, cache, uids);
      // Readers must not see a replica ahead of its committed seq: take them out while we write.
      for (const uid of uids) cache.delete(uid);
      const seen = await seenMessages(client, batch);
      const rows = new BatchRows();
      const result = batch.map((m) => applyOne(m, users!.get(m.md.uid)!, seen, rows));
      await rows.write(client);
      return result;
    });
    for (const [uid, user] of users!) cache.set(uid, user);
    return outcomes;
  } catch (e) {
    // Replicas were changed in memory for a transaction that did not commit.
    for (const uid of uids) cache.delete(uid);
    throw toStorageError(e, 'consume');
  }
}

function applyOne(m: InBandMessage, user: LoadedUser, seen: Map<string, number>, rows: BatchRows): Outcome {
  const key = `${m.md.uid}\0${m.md.msgId}`;
  const original = seen.get(key);
  if (original !== undefined) return { ok: { status: 'duplicate', seq: original, deadOnArrival: NONE } };
  try {
    checkNotTooOld(m, user.replica.compactedBefore);
  } catch (error) {
    return { error };
  }
  const seq = ++user.seq;
  seen.set(key, seq);
  const deadOnArrival = m.kind === 'update' ? user.replica.apply(m).deadOnArrival : NONE;
  rows.add(m.md.uid, seq, m, (id) => user.replica.getItem(id)!);
  return { ok: { status: 'stored', seq, deadOnArrival } };
}

async function lockUsers(
  client: PgClient,
  cache: ReplicaCache,
  uids: readonly string[],
): Promise<Map<string, LoadedUser>> {
  // One round trip creates missing users and locks every row, in uid order: the no-op update
  // takes the row lock and returns the row as the last committed writer left it.
  const { rows } = await client.query(
    `INSERT INTO gregor_users AS u (uid) SELECT x FROM unnest($1::text[]) AS x ORDER BY x
     ON CONFLICT (uid) DO UPDATE SET seq = u.seq
     RETURNING uid, seq, version, compacted_before`,
    [uids],
  );
  const users = new Map<string, LoadedUser>();
  const stale: UserHead[] = [];
  for (const head of rows.map(headFromRow)) {
    const cached = cache.current(head);
    if (cached) users.set(head.uid, cached);
    else stale.push(head);
  }
  // Loaded under the row lock: no other writer can change these users until we commit.
  for (const [uid, user] of await loadReplicas(client, stale)) users.set(uid, user);
  return users;
}

async function seenMessages(client: PgClient, batch: readonly InBandMessage[]): Promise<Map<string, number>> {
  const { rows } = await client.query(
    `SELECT m.uid, m.msg_id, m.seq FROM gregor_messages m
       JOIN unnest($1::text[], $2::text[]) AS k(uid, msg_id) ON m.uid = k.uid AND m.msg_id = k.msg_id`,
    [batch.map((m) => m.md.uid), batch.map((m) => m.md.msgId)],
  );
  return new Map(rows.map((r) => [`${r.uid}\0${r.msg_id}`, r.seq as number]));
}
