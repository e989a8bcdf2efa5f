import type { Engine, State } from '../core/state-machine.js';
import type { ServerFrame, StateFrameItem } from '../protocol/frames.js';
import { itemToWire, messageToWire } from '../protocol/message.js';

/**
 * Answers a device's sync (cursor + hash) with the cheapest frame that makes it converge:
 * - `synced` when its hash already equals the server's (a few dozen bytes);
 * - `messages` since its cursor, when there are few enough (bandwidth follows what it missed);
 *   the device applies them and compares hashes; if they still differ it asks for the full state;
 * - `state`, the full state, when it has no cursor, missed too much, or a flush happened.
 * Run on the user's lane, so this node's writes cannot interleave.
 */
export async function answerSync(
  store: Engine,
  uid: string,
  device: string,
  request: { cursor?: number; hash?: string },
  limit: number,
): Promise<ServerFrame> {
  if (request.cursor === undefined) return fullState(await store.state(uid, device));
  const after = await store.messagesAfter(uid, device, request.cursor, limit);
  const flushed = after.messages.some((m) => m.message.kind === 'flush');
  const state = await store.state(uid, device);
  if (after.truncated || flushed || state.seq !== after.seq || request.cursor > after.seq) {
    return fullState(state, flushed);
  }
  if (request.hash === state.hash) return { type: 'synced', cursor: state.seq, hash: state.hash };
  return {
    type: 'messages',
    cursor: state.seq,
    hash: state.hash,
    messages: after.messages.map(({ seq, message }) => ({ ...messageToWire(message), seq })),
  };
}

export function fullState(state: State, flush = false): ServerFrame {
  const items: Record<string, StateFrameItem> = {};
  for (const item of state.items)
    items[item.id] = { ...itemToWire(item), msg_id: item.msgId, ctime: item.ctime / 1000 };
  return {
    type: 'state',
    cursor: state.seq,
    hash: state.hash,
    items,
    ...(flush ? { flush: true as const } : {}),
  };
}
