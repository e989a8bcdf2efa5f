import type { Database } from 'better-sqlite3';
import { encodeInBand } from '../../core/codec.js';
import { checkNotTooOld } from '../../core/rules.js';
import type { ConsumeResult } from '../../core/state-machine.js';
import { GLOBAL } from '../../core/user-state.js';
import { type GregorError, isGregorError } from '../../protocol/errors.js';
import type { InBandMessage, UpdateMessage } from '../../protocol/message.js';
import { type CachedUser, putItem, type ReplicaCache } from './replicas.js';
import type { Statements } from './statements.js';

/** What became of one message of a batch: a result, or a refusal of that message alone. */
export type Outcome =
  | { readonly ok: true; readonly value: ConsumeResult }
  | { readonly ok: false; readonly error: GregorError };

const NONE: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Writes a batch of in-band messages in one IMMEDIATE transaction and returns one outcome per
 * message. A refusal by a core rule fails only its message; any other error rolls the whole
 * batch back, forgets the replicas it touched, and is thrown.
 *
 * @example
 *   const [outcome] = writeBatch(db, st, cache, [message]);
 */
export function writeBatch(
  db: Database,
  st: Statements,
  cache: ReplicaCache,
  batch: readonly InBandMessage[],
): Outcome[] {
  const touched = new Map<string, CachedUser>();
  const changed = new Set<CachedUser>();
  try {
    return db
      .transaction(() => {
        const outcomes = batch.map((m) => consumeOne(st, cache, touched, changed, m));
        for (const u of changed) {
          u.rev += 1;
          st.saveUser.run(u.seq, u.rev, u.replica.compactedBefore, u.id);
        }
        return outcomes;
      })
      .immediate();
  } catch (e) {
    // The replicas were changed ahead of a commit that did not happen.
    for (const m of batch) cache.forget(m.md.uid);
    throw e;
  }
}

function consumeOne(
  st: Statements,
  cache: ReplicaCache,
  touched: Map<string, CachedUser>,
  changed: Set<CachedUser>,
  m: InBandMessage,
): Outcome {
  const { uid, msgId, ctime, device } = m.md;
  let user = touched.get(uid);
  if (!user) {
    user = cache.currentOrNew(uid);
    touched.set(uid, user);
  }
  const refusal = refusalOf(m, user.replica.compactedBefore);
  if (refusal) {
    const dup = st.seqOfMsgId.get(uid, msgId);
    return dup ? duplicate(dup.seq) : { ok: false, error: refusal };
  }
  const seq = user.seq + 1;
  if (st.insertMessage.run(uid, seq, msgId, ctime, device, encodeInBand(m)).changes === 0) {
    return duplicate(st.seqOfMsgId.get(uid, msgId)!.seq);
  }
  user.seq = seq;
  changed.add(user);
  if (m.kind === 'flush') return { ok: true, value: { status: 'stored', seq, deadOnArrival: NONE } };
  return { ok: true, value: { status: 'stored', seq, deadOnArrival: applyUpdate(st, user, m) } };
}

/** Applies an update to the replica, then writes what the replica kept. */
function applyUpdate(
  st: Statements,
  user: CachedUser,
  m: UpdateMessage,
): ReadonlyMap<string, readonly string[]> {
  const { uid, msgId, ctime } = m.md;
  const { deadOnArrival } = user.replica.apply(m);
  if (m.dismiss) {
    const scope = m.dismiss.forDevice ?? GLOBAL;
    for (const id of m.dismiss.ids) st.dismissId.run(uid, id, scope, ctime);
    for (const i of m.dismiss.intervals) st.addInterval.run(uid, i.category, scope, i.begin, i.end, ctime);
  }
  const written = new Set<string>();
  for (const item of m.create) {
    // Reminders are kept for every creation; claiming checks them against the stored item.
    for (const at of item.remindAt) st.addReminder.run(uid, item.id, at);
    if (written.has(item.id)) continue;
    written.add(item.id);
    const kept = user.replica.getItem(item.id);
    if (kept && kept.msgId === msgId) putItem(st, uid, kept);
  }
  return deadOnArrival;
}

function refusalOf(m: InBandMessage, compactedBefore: number): GregorError | null {
  try {
    checkNotTooOld(m, compactedBefore);
    return null;
  } catch (e) {
    if (isGregorError(e)) return e;
    throw e;
  }
}

function duplicate(seq: number): Outcome {
  return { ok: true, value: { status: 'duplicate', seq, deadOnArrival: NONE } };
}
