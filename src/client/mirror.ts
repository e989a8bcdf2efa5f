import type { StoredItem } from '../core/user-state.js';
import { UserState } from '../core/user-state.js';
import type { StateFrameItem } from '../protocol/frames.js';
import { itemDigest } from '../protocol/hash.js';
import type { InBandMessage, Item } from '../protocol/message.js';
import { fromWireTime } from '../protocol/time.js';
import { parseMessage } from '../protocol/validate.js';

/** A change made on this device and not yet acknowledged: kept (and persisted) until the server acks it. */
export interface OutboxEntry {
  /** The message ID: a resend after a reconnect or a restart is a duplicate to the server, never a second change. */
  readonly id: string;
  readonly message: { system: string; body: unknown; id: string };
  /** When it was made (ms): its optimistic ctime. */
  readonly at: number;
}

interface Persisted {
  readonly v: 1;
  /** Whose state this is: a client started by another user must not load it, nor send its outbox. */
  readonly uid: string;
  readonly cursor: number | null;
  readonly items: (Omit<StoredItem, 'digest'> & { digest?: never })[];
  readonly outbox: OutboxEntry[];
}

/**
 * The client's copy of the user's state: the same CRDT as the server (UserState), fed only by what
 * the server sends (one direction, as in the seed), plus the outbox of this device's unacknowledged
 * changes, shown on top at once (optimistic) and dropped when the server's version arrives.
 */
export class Mirror {
  #confirmed = new UserState();
  /** The highest seq up to which every message was applied; null before the first sync. */
  cursor: number | null = null;
  /** Messages applied out of order (seq > cursor + 1), waiting for the gap to fill. */
  readonly #ahead = new Set<number>();
  outbox: OutboxEntry[] = [];
  #view: UserState | null = null;
  uid = '';

  /** Replaces everything with a full state from the server. */
  loadState(items: Record<string, StateFrameItem>, cursor: number): void {
    const replica = new UserState();
    for (const [id, w] of Object.entries(items)) {
      const item: Item = {
        id,
        category: w.category,
        created: fromWireTime(w.times.created),
        expires: w.times.expires === null ? null : fromWireTime(w.times.expires),
        remindAt: w.times.remind_at.map(fromWireTime),
        forDevice: w.for_device,
        body: w.body,
      };
      replica.addItem({
        ...item,
        msgId: w.msg_id,
        ctime: fromWireTime(w.ctime),
        digest: itemDigest(item),
      });
    }
    this.#confirmed = replica;
    this.cursor = cursor;
    this.#ahead.clear();
    this.#view = null;
  }

  /** Applies a message the server stored (with its seq). Returns false for one already covered. */
  applyStored(message: InBandMessage, seq: number): boolean {
    if (this.cursor !== null && (seq <= this.cursor || this.#ahead.has(seq))) return false;
    if (message.kind === 'update') this.#confirmed.apply(message);
    this.#view = null;
    if (this.cursor === null) return true;
    this.#ahead.add(seq);
    while (this.#ahead.delete(this.cursor + 1)) this.cursor += 1;
    return true;
  }

  /** Parses a message as the server sent it (times absolute, ctime given; its seq is the frame's). */
  parse(wire: { seq?: number }): ReturnType<typeof parseMessage> {
    const { seq: _, ...message } = wire;
    return parseMessage(message, { uid: this.uid, now: 0, trustCtime: true });
  }

  /** Forgets everything (another user signed in with this storage). Returns the dropped outbox. */
  reset(uid: string): OutboxEntry[] {
    const dropped = this.outbox;
    this.#confirmed = new UserState();
    this.cursor = null;
    this.#ahead.clear();
    this.outbox = [];
    this.#view = null;
    this.uid = uid;
    return dropped;
  }

  addPending(entry: OutboxEntry): void {
    this.outbox.push(entry);
    this.#view = null;
  }

  removePending(id: string): boolean {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((e) => e.id !== id);
    this.#view = null;
    return this.outbox.length < before;
  }

  /** The state the device shows: confirmed, with its pending changes applied on top. */
  visible(device: string, now: number): StoredItem[] {
    return this.#overlay().visibleItems(device, null, now);
  }

  /** Whether an item shown comes from a pending change rather than the server. */
  isPending(item: StoredItem): boolean {
    return this.#confirmed.getItem(item.id)?.msgId !== item.msgId;
  }

  /** The hash of the confirmed state: what the server's hash is compared with. */
  hash(device: string, now: number): string {
    return UserState.hash(this.#confirmed.visibleItems(device, null, now));
  }

  /** Saves what the device shows (confirmed, visible items; tombstones are not needed, see restore) and the outbox. */
  serialize(device: string, now: number): string {
    const items = this.#confirmed.visibleItems(device, null, now).map(({ digest: _, ...rest }) => rest);
    const doc: Persisted = { v: 1, uid: this.uid, cursor: this.cursor, items, outbox: this.outbox };
    return JSON.stringify(doc);
  }

  /**
   * Restores a saved mirror. Only the visible items are kept (tombstones are not): the server
   * never sends a creation that a tombstone hides, so none is needed to stay correct.
   */
  restore(text: string): void {
    const doc = JSON.parse(text) as Persisted;
    if (doc.v !== 1) return;
    this.uid = doc.uid;
    const replica = new UserState();
    for (const item of doc.items) replica.addItem({ ...item, digest: itemDigest(item) });
    this.#confirmed = replica;
    this.cursor = doc.cursor;
    this.outbox = doc.outbox;
    this.#view = null;
  }

  #overlay(): UserState {
    if (this.#view) return this.#view;
    if (this.outbox.length === 0) {
      this.#view = this.#confirmed;
      return this.#view;
    }
    const view = this.#confirmed.clone();
    for (const entry of this.outbox) {
      try {
        const m = parseMessage(entry.message, { uid: this.uid || 'me', now: entry.at });
        if (m.kind === 'update') view.apply(m);
      } catch {
        // An invalid pending change shows nothing; the server's refusal removes it.
      }
    }
    this.#view = view;
    return view;
  }
}
