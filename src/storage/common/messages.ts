// What both SQL engines' `messages.ts` share: a `gregor_messages` row, and the message it holds.

import { decodeInBand } from '../../core/codec.js';
import type { InBandMessage } from '../../protocol/message.js';

/** A `gregor_messages` row as both engines read it (the user is known from the query). */
export interface MessageRow {
  readonly seq: number;
  readonly msg_id: string;
  readonly ctime: number;
  readonly device: string | null;
  readonly content: string;
}

/**
 * The in-band message a row holds (metadata in columns, content as `encodeInBand` wrote it).
 *
 * @example
 *   rows.map((row) => ({ seq: row.seq, message: messageFromRow('alice', row) }));
 */
export function messageFromRow(uid: string, row: MessageRow): InBandMessage {
  return decodeInBand({ uid, msgId: row.msg_id, ctime: row.ctime, device: row.device ?? null }, row.content);
}
