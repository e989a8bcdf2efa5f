import type { Database } from 'better-sqlite3';
import { encodeInBand } from '../../core/codec.js';
import type { IntervalTombstones } from '../../core/rules.js';
import { GLOBAL, UserState } from '../../core/user-state.js';
import type { InBandMessage, UpdateMessage } from '../../protocol/message.js';
import { duplicate, type Outcome, refusalOf, stored } from '../common/consume.js';
import type { ReplicaCache } from '../common/replicas.js';
import { cachedUser, partialReplica, putItem, type SqliteUser } from './replicas.js';
import type { Statements } from './statements.js';

/** A user being written by a batch: its row, and its cached replica when there is a current one. */
interface Writer {
  readonly uid: string;
  readonly id: number;
  seq: number;
  rev: number;
  readonly compactedBefore: number;
  readonly cached: SqliteUser | undefined;
  changed: boolean;
}

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
  cache: ReplicaCache<SqliteUser>,
  batch: readonly InBandMessage[],
): Outcome[] {
  const writers = new Map<string, Writer>();
  try {
    return db
      .transaction(() => {
        const outcomes = batch.map((m) => consumeOne(st, writerFor(st, cache, writers, m.md.uid), m));
        for (const w of writers.values()) {
          if (!w.changed) continue;
          w.rev += 1;
          st.saveUser.run(w.seq, w.rev, w.compactedBefore, w.id);
          if (w.cached) {
            w.cached.seq = w.seq;
            w.cached.rev = w.rev;
          }
        }
        return outcomes;
      })
      .immediate();
  } catch (e) {
    // Cached replicas were changed ahead of a commit that did not happen.
    for (const uid of writers.keys()) cache.forget(uid);
    throw e;
  }
}

function writerFor(
  st: Statements,
  cache: ReplicaCache<SqliteUser>,
  writers: Map<string, Writer>,
  uid: string,
): Writer {
  let w = writers.get(uid);
  if (w) return w;
  let row = st.user.get(uid);
  let cached = row && cachedUser(cache, uid, row);
  if (!row) {
    row = st.insertUser.get(uid)!;
    // A new user's whole replica is empty: cache it, it costs nothing to keep current.
    cached = cache.adopt({ uid, id: row.id, seq: row.seq, rev: row.rev, replica: new UserState() });
  }
  w = {
    uid,
    id: row.id,
    seq: row.seq,
    rev: row.rev,
    compactedBefore: row.compacted_before,
    cached,
    changed: false,
  };
  writers.set(uid, w);
  return w;
}

function consumeOne(st: Statements, w: Writer, m: InBandMessage): Outcome {
  const { msgId, ctime, device } = m.md;
  const refusal = refusalOf(m, w.compactedBefore, w.cached?.replica ?? tombstoneRows(st, w.id));
  if (refusal) {
    const dup = st.seqOfMsgId.get(w.id, msgId);
    return dup ? duplicate(dup.seq) : { ok: false, error: refusal };
  }
  const seq = w.seq + 1;
  if (st.insertMessage.run(w.id, seq, msgId, ctime, device, encodeInBand(m)).changes === 0) {
    return duplicate(st.seqOfMsgId.get(w.id, msgId)!.seq);
  }
  w.seq = seq;
  w.changed = true;
  if (m.kind === 'flush') return stored(seq);
  return stored(seq, applyUpdate(st, w, m));
}

/** Applies an update to the replica (the cached one, or the part of it the update touches), then writes what it kept. */
function applyUpdate(st: Statements, w: Writer, m: UpdateMessage): ReadonlyMap<string, readonly string[]> {
  const { msgId, ctime } = m.md;
  const userId = w.id;
  const replica = w.cached?.replica ?? partialReplica(st, userId, m.create);
  const { deadOnArrival } = replica.apply(m);
  if (m.dismiss) {
    const scope = m.dismiss.forDevice ?? GLOBAL;
    for (const id of m.dismiss.ids) st.dismissId.run(userId, id, scope, ctime);
    for (const i of m.dismiss.intervals) st.addInterval.run(userId, i.category, scope, i.begin, i.end, ctime);
  }
  const written = new Set<string>();
  for (const item of m.create) {
    // Reminders are kept for every creation; claiming checks them against the stored item.
    for (const at of item.remindAt) st.addReminder.run(userId, item.id, at);
    if (written.has(item.id)) continue;
    written.add(item.id);
    const kept = replica.getItem(item.id);
    if (kept && kept.msgId === msgId) putItem(st, userId, kept);
  }
  return deadOnArrival;
}

/** The user's interval tombstones as the rows say (a partial replica holds only some of them); read only when needed. */
function tombstoneRows(st: Statements, userId: number): IntervalTombstones {
  return {
    get intervalCount() {
      return st.intervalCount.get(userId)!.n;
    },
    hasInterval: (category, scope, begin, end) =>
      st.hasInterval.get(userId, category, scope, begin, end) !== undefined,
    hasIntervalScope: (scope) => st.hasIntervalScope.get(userId, scope) !== undefined,
    // Device scopes sort after GLOBAL (''): walk them in the index, one lookup each, up to `upTo`.
    deviceScopeCount: (upTo) => {
      let n = 0;
      for (let scope = GLOBAL; n < upTo; n++) {
        const next = st.nextIntervalScope.get(userId, scope);
        if (!next) break;
        scope = next.scope;
      }
      return n;
    },
  };
}
