import { type StoredItem, UserState } from '../../core/user-state.js';
import type { Json } from '../../protocol/json.js';
import type { PgQueryable, Row } from './driver.js';
import { BEGIN_OF_TIME } from './migrations.js';

/** A user's replica as of one point in their log. */
export interface LoadedUser {
  readonly replica: UserState;
  /** The user's head sequence number the replica reflects (0: no user yet). */
  seq: number;
  /** Compaction count: compaction changes a replica without moving `seq`. */
  version: number;
}

/** The user row fields that tell whether a cached replica is current. */
export interface UserHead {
  readonly uid: string;
  readonly seq: number;
  readonly version: number;
  readonly compactedBefore: number;
}

export function headFromRow(row: Row): UserHead {
  return {
    uid: row.uid as string,
    seq: row.seq as number,
    version: row.version as number,
    compactedBefore: row.compacted_before as number,
  };
}

/**
 * Loads the replicas of `heads` from their rows. Call it inside the snapshot (or the lock) the
 * heads were read in, so each replica matches its seq.
 */
export async function loadReplicas(
  q: PgQueryable,
  heads: readonly UserHead[],
): Promise<Map<string, LoadedUser>> {
  const out = new Map<string, LoadedUser>();
  if (heads.length === 0) return out;
  for (const h of heads) {
    const replica = new UserState();
    replica.compactedBefore = h.compactedBefore;
    out.set(h.uid, { replica, seq: h.seq, version: h.version });
  }
  // A user who never stored a message and was never compacted has no rows yet.
  const uids = heads.filter((h) => h.seq > 0 || h.version > 0).map((h) => h.uid);
  if (uids.length === 0) return out;
  const items = await q.query(
    `SELECT uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest
       FROM gregor_items WHERE uid = ANY($1)`,
    [uids],
  );
  for (const r of items.rows) out.get(r.uid as string)!.replica.addItem(itemFromRow(r));
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

export function itemFromRow(r: Row): StoredItem {
  return {
    id: r.item_id as string,
    category: r.category as string,
    created: r.created as number,
    expires: (r.expires as number | null) ?? null,
    remindAt: r.remind_at as number[],
    forDevice: (r.for_device as string | null) ?? null,
    body: JSON.parse(r.body as string) as Json,
    msgId: r.msg_id as string,
    ctime: r.ctime as number,
    // A plain Uint8Array, like itemDigest's: the driver's Buffer would make equal items compare unequal.
    digest: plain(r.digest as Uint8Array),
  };
}

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A bounded least-recently-used cache of replicas. Entries are hints: every reader checks an
 * entry's seq and version against the database before trusting it, since other processes write too.
 */
export class ReplicaCache {
  readonly #entries = new Map<string, LoadedUser>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The entry if it is current for `head`; otherwise nothing. */
  current(head: { uid: string; seq: number; version: number }): LoadedUser | undefined {
    const entry = this.#entries.get(head.uid);
    if (!entry || entry.seq !== head.seq || entry.version !== head.version) return undefined;
    this.#entries.delete(head.uid);
    this.#entries.set(head.uid, entry);
    return entry;
  }

  /** The entry whatever its seq: only right just after this process committed it. */
  latest(uid: string): LoadedUser | undefined {
    return this.#entries.get(uid);
  }

  set(uid: string, entry: LoadedUser): void {
    if (this.#capacity <= 0) return;
    this.#entries.delete(uid);
    this.#entries.set(uid, entry);
    if (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  delete(uid: string): void {
    this.#entries.delete(uid);
  }

  clear(): void {
    this.#entries.clear();
  }
}
