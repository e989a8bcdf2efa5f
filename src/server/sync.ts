import type { Engine, State } from '../core/state-machine.js';
import type { ServerFrame, StateFrameItem } from '../protocol/frames.js';
import { setOwn } from '../protocol/json.js';
import { itemToWire, messageToWire } from '../protocol/message.js';
import { toWireTime } from '../protocol/time.js';

/**
 * Answers a device's sync (cursor + hash) with the cheapest frame that makes it converge:
 * - `synced` when its hash already equals the server's (about 30 bytes);
 * - `messages` since its cursor, when there are few enough (bandwidth follows what it missed);
 *   the device applies them and compares hashes; if they still differ it asks for the full state;
 * - `state`, the full state, when it has no cursor, missed too much, or a flush happened.
 * Run on the user's lane, so this node's writes cannot interleave.
 */
/** A sync answer, serialised once: its type (for metrics), the cursor it leaves the device at, and its text. */
export interface SyncAnswer {
  readonly type: 'state' | 'messages' | 'synced';
  readonly cursor: number;
  readonly text: string;
}

export async function answerSync(
  store: Engine,
  uid: string,
  device: string,
  request: { cursor?: number; hash?: string },
  limit: number,
): Promise<SyncAnswer> {
  if (request.cursor === undefined) return serialise(fullState(await store.state(uid, device)));
  const after = await store.messagesAfter(uid, device, request.cursor, limit);
  const flushed = after.messages.some((m) => m.message.kind === 'flush');
  const state = await store.state(uid, device);
  if (after.truncated || flushed || state.seq !== after.seq || request.cursor > after.seq) {
    return serialise(fullState(state, flushed));
  }
  // The device sent this very hash: the answer need not repeat it.
  if (request.hash === state.hash) return serialise({ type: 'synced', cursor: state.seq });
  const messages = serialise({
    type: 'messages',
    cursor: state.seq,
    hash: state.hash,
    messages: after.messages.map(({ seq, message }) => ({ ...messageToWire(message), seq })),
  });
  // Missed messages can outweigh the state they produced (many creates later dismissed): a
  // resync never costs more than the full state.
  if (messages.text.length <= SMALL_ANSWER) return messages;
  const full = serialise(fullState(state));
  return full.text.length < messages.text.length ? full : messages;
}

function serialise(frame: Extract<ServerFrame, { type: 'state' | 'messages' | 'synced' }>): SyncAnswer {
  return { type: frame.type, cursor: frame.cursor, text: JSON.stringify(frame) };
}

/** Below this many bytes, the messages answer is sent without comparing it with the full state. */
const SMALL_ANSWER = 16 * 1024;

export function fullState(state: State, flush = false): Extract<ServerFrame, { type: 'state' }> {
  const items: Record<string, StateFrameItem> = {};
  for (const item of state.items)
    setOwn(items, item.id, { ...itemToWire(item), msg_id: item.msgId, ctime: toWireTime(item.ctime) });
  return {
    type: 'state',
    cursor: state.seq,
    hash: state.hash,
    items,
    ...(flush ? { flush: true as const } : {}),
  };
}
