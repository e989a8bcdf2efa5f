import { GregorError } from '../protocol/errors.js';
import type { InBandMessage } from '../protocol/message.js';

/**
 * Refuses what compaction made unsafe. A creation of an item older than the horizon could bring
 * back an item whose row and tombstones were compacted away, so it is refused; so are questions
 * about history that is gone. Every engine calls these.
 */
export function checkNotTooOld(m: InBandMessage, compactedBefore: number): void {
  if (m.kind !== 'update') return;
  for (const item of m.create) {
    if (item.created < compactedBefore) {
      throw new GregorError(
        'MESSAGE_TOO_OLD',
        `body.create.${item.id}.times.created: ${new Date(item.created).toISOString()} is before the compaction horizon ${new Date(compactedBefore).toISOString()}`,
      );
    }
  }
}

export function checkHistoryKept(at: number | null, compactedBefore: number): void {
  if (at !== null && at < compactedBefore) {
    throw new GregorError(
      'HISTORY_COMPACTED',
      `${new Date(at).toISOString()} is before the compaction horizon ${new Date(compactedBefore).toISOString()}`,
    );
  }
}
