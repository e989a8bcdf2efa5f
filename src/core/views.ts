import type { Item } from '../protocol/message.js';
import { resolveTime, type TimeOrOffset } from '../protocol/time.js';
import type { HiddenScopes } from './project.js';
import type { State } from './state-machine.js';
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
