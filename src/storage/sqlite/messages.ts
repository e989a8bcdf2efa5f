import type { SequencedMessage } from '../../core/state-machine.js';
import type { InBandMessage } from '../../protocol/message.js';
import { messageFromRow } from '../common/messages.js';
import type { SqliteUser } from './replicas.js';
import type { Statements } from './statements.js';

/**
 * The user's messages after `seq`, in seq order, at most `limit`; `more` tells that others follow.
 * Call it in the snapshot `user` was read in, so every message is at most `user.seq`.
 *
 * @example
 *   const { messages, more } = messagesAfter(st, user, 0, 100);
 */
export function messagesAfter(
  st: Statements,
  user: SqliteUser,
  seq: number,
  limit: number,
): { messages: SequencedMessage[]; more: boolean } {
  // One row past the limit tells whether more follow.
  const fetch = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) + 1 : -1;
  const rows = st.messagesAfter.all(user.id, seq, fetch);
  const messages = rows
    .slice(0, limit)
    .map((row) => ({ seq: row.seq, message: messageFromRow(user.uid, row) }));
  return { messages, more: rows.length > limit };
}

/**
 * The user's messages with a ctime strictly after `since` (ms), in seq order.
 *
 * @example
 *   messagesSince(st, user, Date.now() - 60_000);
 */
export function messagesSince(st: Statements, user: SqliteUser, since: number): InBandMessage[] {
  return st.messagesSince.all(user.id, since).map((row) => messageFromRow(user.uid, row));
}
