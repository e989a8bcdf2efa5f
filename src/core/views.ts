import type { InBandMessage, Item } from '../protocol/message.js';
import { resolveTime, type TimeOrOffset } from '../protocol/time.js';
import { type HiddenScopes, projectForDevice } from './project.js';
import type { MessagesAfter, SequencedMessage, State } from './state-machine.js';
import { GLOBAL, UserState } from './user-state.js';

/** Builds the State an engine returns, from a user's replica. Every engine goes through here. */
export function stateView(
  uid: string,
  replica: UserState,
  seq: number,
  device: string | null | undefined,
  t: TimeOrOffset | null | undefined,
  now: number,
): State {
  const at = resolveTime(t, now);
  const items = replica.visibleItems(device ?? null, at, now);
  return { uid, device: device ?? null, at, seq, items, hash: UserState.hash(items) };
}

/** Scopes where a created item can no longer be shown now (see HiddenScopes). */
export function hiddenNow(replica: UserState, now: number): HiddenScopes {
  return (item: Item, msgId: string) => {
    const stored = replica.getItem(item.id);
    if (!stored || stored.msgId !== msgId || (item.expires !== null && item.expires <= now)) return [GLOBAL];
    return replica.dismissedScopes(item);
  };
}

/** Stored messages projected for a device (see projectForDevice); the ones left empty are dropped. */
export function projectAll(
  messages: Iterable<InBandMessage>,
  device: string | null,
  hidden: HiddenScopes,
): InBandMessage[] {
  const out: InBandMessage[] = [];
  for (const m of messages) {
    const projected = projectForDevice(m, device, hidden);
    if (projected) out.push(projected);
  }
  return out;
}

/**
 * The answer to `messagesAfter(cursor)` in every engine: `entries` are the stored messages with
 * seq > cursor in seq order, at most the caller's limit; `more` says whether more followed.
 */
export function pageAfter(
  entries: readonly SequencedMessage[],
  cursor: number,
  head: number,
  more: boolean,
  device: string | null,
  hidden: HiddenScopes,
): MessagesAfter {
  // A gap means compaction removed messages this cursor still needed: only a full state is right.
  const gap = entries.length > 0 ? entries[0]!.seq !== cursor + 1 : cursor < head;
  const messages: SequencedMessage[] = [];
  for (const { seq, message } of entries) {
    const projected = projectForDevice(message, device, hidden);
    if (projected) messages.push({ seq, message: projected });
  }
  return { messages, seq: head, truncated: gap || more };
}
