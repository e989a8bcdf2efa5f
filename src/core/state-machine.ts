import type { InBandMessage, Message } from '../protocol/message.js';
import type { TimeOrOffset } from '../protocol/time.js';
import type { StoredItem } from './user-state.js';

/** A user's visible state on one device (or globally) at one time. */
export interface State {
  readonly uid: string;
  /** `null`: the global view across devices. */
  readonly device: string | null;
  /** The time asked for (ms), or `null` for now. */
  readonly at: number | null;
  /** The user's sequence number this state reflects: resume live updates after it. */
  readonly seq: number;
  /** Sorted by (ctime, id). */
  readonly items: readonly StoredItem[];
  /** `stateHash` of the items: equal on every replica with the same visible state. */
  readonly hash: string;
}

/** An in-band message with its place in the user's log (commit order, gap-free). */
export interface SequencedMessage {
  readonly seq: number;
  readonly message: InBandMessage;
}

export interface ConsumeResult {
  /** `stored`: new and durable; `duplicate`: its ID was consumed before, nothing changed; `relayed`: out-of-band, not stored. */
  readonly status: 'stored' | 'duplicate' | 'relayed';
  /** The message's sequence number (the original one for a duplicate); `null` for out-of-band. */
  readonly seq: number | null;
  /** Items the message created that a tombstone already hides, with the scopes where hidden. */
  readonly deadOnArrival: ReadonlyMap<string, readonly string[]>;
}

export interface MessagesAfter {
  readonly messages: readonly SequencedMessage[];
  /** The user's head sequence number when read. */
  readonly seq: number;
  /** More messages follow than `limit`: a full state is the cheaper resync. */
  readonly truncated: boolean;
}

/** Half of the state machine protocol (seed 001): consumes messages. Broadcasters and publishers are only this. */
export interface MessageConsumer {
  consumeMessage(m: Message): Promise<unknown>;
}

/**
 * The central interface (seed 001). Every engine (memory, SQLite, PostgreSQL, sharded) implements
 * it with the same semantics; one conformance suite checks that they never disagree.
 */
export interface StateMachine extends MessageConsumer {
  /** Applies a message durably. Idempotent: a message ID seen before is a no-op (`duplicate`). */
  consumeMessage(m: Message): Promise<ConsumeResult>;
  /** The visible state of `uid` on `device` (`null`: global) at `t` (omitted: now). */
  state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State>;
  /**
   * The in-band messages with ctime strictly after `t`, projected for `device`: creations of
   * items that are no longer visible are left out. Replaying them onto the state at `t` gives the
   * state now.
   */
  inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]>;
  /** The messages committed after sequence number `seq`, projected for `device` like `inBandMessagesSince`. */
  messagesAfter(uid: string, device: string | null, seq: number, limit?: number): Promise<MessagesAfter>;
  /** Releases resources. Safe to call twice; any other call afterwards fails with GREGOR_ERR_CLOSED. */
  close(): Promise<void>;
}

/** A reminder that is due: `item` should be shown again to the devices that still see it. */
export interface Reminder {
  readonly uid: string;
  readonly remindAt: number;
  readonly item: StoredItem;
}

/** What a compaction removed. */
export interface CompactionReport {
  /** Everything older than this (ms) is compacted; items created before it are now refused. */
  readonly cutoff: number;
  readonly messages: number;
  readonly items: number;
  readonly intervals: number;
}

/** A StateMachine that keeps reminders and can compact its history. Every engine implements it. */
export interface Engine extends StateMachine {
  /**
   * Claims up to `limit` reminders due at `now` for `owner`, with a lease of `leaseMs`: atomic
   * across processes, so each due reminder is claimed once; a claim not completed before its
   * lease ends is claimed again (a claimer that died loses nothing). Reminders of items that are
   * dismissed everywhere or expired are completed silently, never returned.
   */
  claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]>;
  /** Marks claimed reminders delivered; only the owner's claims are completed. */
  completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void>;
  /**
   * Removes history before `cutoff` (ms) without changing any visible state at or after it:
   * messages with ctime < cutoff, items dismissed everywhere or expired before it (their IDs stay
   * as tombstones), interval tombstones ending before it. Afterwards `state`/`inBandMessagesSince`
   * before `cutoff` fail with GREGOR_ERR_HISTORY_COMPACTED and creations of items with `created`
   * before it fail with GREGOR_ERR_MESSAGE_TOO_OLD, so no late replay can resurrect anything.
   */
  compact(cutoff: number, uid?: string): Promise<CompactionReport>;
}
