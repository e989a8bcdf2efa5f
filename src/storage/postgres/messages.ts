import type { SequencedMessage } from '../../core/state-machine.js';
import type { InBandMessage } from '../../protocol/message.js';
import { type MessageRow, messageFromRow } from '../common/messages.js';
import type { CachedUser } from '../common/replicas.js';
import type { PgQueryable } from './connection.js';

/**
 * The user's messages after `seq`, in seq order, at most `limit`; `more` tells that others follow.
 * Only up to the head `user.seq`, as read: every message <= head is committed (see consume.ts),
 * while later ones may still be committing.
 *
 * @example
 *   const { messages, more } = await messagesAfter(pool, user, 0, 100);
 */
export function messagesAfter(
  q: PgQueryable,
  user: CachedUser,
  seq: number,
  limit: number,
): Promise<{ messages: SequencedMessage[]; more: boolean }> {
  return messagesFrom(q, user.uid, { seqAfter: seq, seqAtMost: user.seq, limit });
}

/**
 * The user's messages with a ctime strictly after `since` (ms), in seq order, up to the head `user.seq`.
 *
 * @example
 *   await messagesSince(pool, user, Date.now() - 60_000);
 */
export async function messagesSince(
  q: PgQueryable,
  user: CachedUser,
  since: number,
): Promise<InBandMessage[]> {
  const { messages } = await messagesFrom(q, user.uid, { ctimeAfter: since, seqAtMost: user.seq });
  return messages.map((e) => e.message);
}

/** Which of a user's stored messages to read, in seq order. */
interface MessageRange {
  readonly seqAfter?: number;
  readonly seqAtMost: number;
  /** Only messages with ctime strictly after this (ms). */
  readonly ctimeAfter?: number;
  readonly limit?: number;
}

/** Reads a range of a user's log; `more` tells that messages beyond `limit` exist in the range. */
async function messagesFrom(
  q: PgQueryable,
  uid: string,
  range: MessageRange,
): Promise<{ messages: SequencedMessage[]; more: boolean }> {
  const limit = range.limit ?? Infinity;
  const { rows } = await q.query<MessageRow>(
    `SELECT seq, msg_id, ctime, device, content FROM gregor_messages
      WHERE uid = $1 AND seq > $2 AND seq <= $3 AND ctime > $4
      ORDER BY seq LIMIT $5`,
    [
      uid,
      range.seqAfter ?? 0,
      range.seqAtMost,
      range.ctimeAfter ?? Number.MIN_SAFE_INTEGER,
      Number.isFinite(limit) ? limit + 1 : null,
    ],
  );
  const messages = rows
    .slice(0, Number.isFinite(limit) ? limit : undefined)
    .map((r) => ({ seq: r.seq, message: messageFromRow(uid, r) }));
  return { messages, more: rows.length > messages.length };
}
