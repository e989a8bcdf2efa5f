import { checkHistoryKept, checkNotTooOld, checkTombstoneRoom } from '../../core/rules.js';
import type {
  CompactionReport,
  ConsumeResult,
  Engine,
  MessagesAfter,
  Reminder,
  SequencedMessage,
  State,
} from '../../core/state-machine.js';
import { UserState } from '../../core/user-state.js';
import { hiddenNow, pageAfter, projectAll, stateView } from '../../core/views.js';
import { GregorError } from '../../protocol/errors.js';
import type { InBandMessage, Message } from '../../protocol/message.js';
import { resolveTime, type TimeOrOffset } from '../../protocol/time.js';

export interface MemoryEngineOptions {
  /** The clock (ms); tests move it to check expiry and time travel. */
  readonly now?: () => number;
}

interface MemoryUser {
  readonly replica: UserState;
  /** In seq order; compaction removes a prefix-free subset, so seq is not the index. */
  log: SequencedMessage[];
  readonly seqByMsgId: Map<string, number>;
  seq: number;
  /** Reminders not yet delivered: key `itemId@remindAt` -> lease. */
  readonly reminders: Map<string, { itemId: string; remindAt: number; owner: string | null; until: number }>;
}

const NONE: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * The reference engine: everything in process memory, nothing durable. The semantics live in
 * `UserState`; this adds the message log, deduplication, sequence numbers and reminders.
 *
 * @example
 *   const engine = new MemoryEngine();
 *   await engine.consumeMessage(parseMessage(wire, { uid: 'alice', now: Date.now() }));
 *   (await engine.state('alice', 'phone')).items;
 */
export class MemoryEngine implements Engine {
  readonly #users = new Map<string, MemoryUser>();
  readonly #now: () => number;
  #closed = false;

  constructor(options: MemoryEngineOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async consumeMessage(m: Message): Promise<ConsumeResult> {
    this.#open();
    if (m.kind === 'oob') return { status: 'relayed', seq: null, deadOnArrival: NONE };
    const user = this.#user(m.md.uid, true)!;
    const existing = user.seqByMsgId.get(m.md.msgId);
    if (existing !== undefined) return { status: 'duplicate', seq: existing, deadOnArrival: NONE };
    checkNotTooOld(m, user.replica.compactedBefore);
    checkTombstoneRoom(m, user.replica);
    const seq = ++user.seq;
    user.log.push({ seq, message: m });
    user.seqByMsgId.set(m.md.msgId, seq);
    if (m.kind === 'flush') return { status: 'stored', seq, deadOnArrival: NONE };
    for (const item of m.create) {
      for (const remindAt of item.remindAt) {
        const key = `${item.id}@${remindAt}`;
        if (!user.reminders.has(key))
          user.reminders.set(key, { itemId: item.id, remindAt, owner: null, until: 0 });
      }
    }
    return { status: 'stored', seq, deadOnArrival: user.replica.apply(m).deadOnArrival };
  }

  async state(uid: string, device?: string | null, t?: TimeOrOffset | null): Promise<State> {
    this.#open();
    const user = this.#user(uid, false);
    const now = this.#now();
    const replica = user?.replica ?? new UserState();
    checkHistoryKept(resolveTime(t, now), replica.compactedBefore);
    return stateView(uid, replica, user?.seq ?? 0, device, t, now);
  }

  async inBandMessagesSince(uid: string, device: string | null, t: TimeOrOffset): Promise<InBandMessage[]> {
    this.#open();
    const now = this.#now();
    const since = resolveTime(t, now)!;
    const user = this.#user(uid, false);
    if (!user) return [];
    checkHistoryKept(since, user.replica.compactedBefore);
    const later = user.log.filter((e) => e.message.md.ctime > since).map((e) => e.message);
    return projectAll(later, device, hiddenNow(user.replica, now));
  }

  async messagesAfter(
    uid: string,
    device: string | null,
    seq: number,
    limit = Infinity,
  ): Promise<MessagesAfter> {
    this.#open();
    const user = this.#user(uid, false);
    if (!user) return { messages: [], seq: 0, truncated: false };
    const after = user.log.filter((e) => e.seq > seq);
    const hidden = hiddenNow(user.replica, this.#now());
    return pageAfter(after.slice(0, limit), seq, user.seq, after.length > limit, device, hidden);
  }

  async claimDueReminders(owner: string, now: number, limit: number, leaseMs: number): Promise<Reminder[]> {
    this.#open();
    const out: Reminder[] = [];
    for (const [uid, user] of this.#users) {
      for (const [key, r] of user.reminders) {
        if (out.length >= limit) return out;
        if (r.remindAt > now || r.until > now) continue;
        const item = user.replica.getItem(r.itemId);
        // Reminders follow the stored item: a losing duplicate's reminders, or a dismissed or
        // expired item's, are dropped without delivery.
        if (!item?.remindAt.includes(r.remindAt) || !user.replica.isVisible(item, null, null, r.remindAt)) {
          user.reminders.delete(key);
          continue;
        }
        r.owner = owner;
        r.until = now + leaseMs;
        out.push({ uid, remindAt: r.remindAt, item });
      }
    }
    return out;
  }

  async completeReminders(owner: string, reminders: readonly Reminder[]): Promise<void> {
    this.#open();
    for (const r of reminders) {
      const map = this.#users.get(r.uid)?.reminders;
      const key = `${r.item.id}@${r.remindAt}`;
      if (map?.get(key)?.owner === owner) map.delete(key);
    }
  }

  async compact(cutoff: number, uid?: string): Promise<CompactionReport> {
    this.#open();
    const report = { cutoff, messages: 0, items: 0, intervals: 0 };
    for (const [id, user] of this.#users) {
      if (uid !== undefined && id !== uid) continue;
      const plan = user.replica.compactionPlan(cutoff);
      user.replica.applyCompaction(plan);
      const removed = new Set(plan.removeItems);
      for (const [key, r] of user.reminders) if (removed.has(r.itemId)) user.reminders.delete(key);
      const kept = user.log.filter((e) => e.message.md.ctime >= cutoff);
      for (const e of user.log) if (e.message.md.ctime < cutoff) user.seqByMsgId.delete(e.message.md.msgId);
      report.messages += user.log.length - kept.length;
      report.items += plan.removeItems.length;
      report.intervals += plan.removeIntervals.length;
      user.log = kept;
    }
    return report;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #user(uid: string, create: boolean): MemoryUser | undefined {
    let user = this.#users.get(uid);
    if (!user && create) {
      user = { replica: new UserState(), log: [], seqByMsgId: new Map(), seq: 0, reminders: new Map() };
      this.#users.set(uid, user);
    }
    return user;
  }

  #open(): void {
    if (this.#closed) throw new GregorError('CLOSED', 'the memory engine is closed');
  }
}
