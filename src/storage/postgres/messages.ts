import { decodeInBand } from '../../core/codec.js';
import type { SequencedMessage } from '../../core/state-machine.js';
import type { PgQueryable } from './driver.js';

/** Which of a user's stored messages to read, in seq order. */
export interface MessageRange {
  readonly seqAfter?: number;
  readonly seqAtMost: number;
  /** Only messages with ctime strictly after this (ms). */
  readonly ctimeAfter?: number;
  readonly limit?: number;
}

/** Reads a range of a user's log; `more` tells that messages beyond `limit` exist in the range. */
export async function messagesFrom(
  q: PgQueryable,
  uid: string,
  range: MessageRange,
): Promise<{ messages: SequencedMessage[]; more: boolean }> {
  const limit = range.limit ?? Infinity;
  const { rows } = await q.query(
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
  const messages = rows.slice(0, Number.isFinite(limit) ? limit : undefined).map((r) => ({
    seq: r.seq as number,
    message: decodeInBand(
      {
        uid,
        msgId: r.msg_id as string,
        ctime: r.ctime as number,
        device: (r.device as string | null) ?? null,
      },
      r.content as string,
    ),
  }));
  return { messages, more: rows.length > messages.length };
}
