import { bytesToHex } from '@noble/hashes/utils';
import { sha256, sha256Bytes } from '#sha256';
import { canonicalJson, type Json } from './json.js';
import type { Item } from './message.js';

/**
 * The digest of one item: SHA-256 of its canonical JSON (times in ms). Server and SDK compute it
 * with this same code, so equal items give equal digests everywhere.
 */
export function itemDigest(item: Item): Uint8Array {
  const canonical: Json = {
    body: item.body,
    category: item.category,
    created: item.created,
    expires: item.expires,
    for_device: item.forDevice,
    id: item.id,
    remind_at: [...item.remindAt],
  };
  return sha256(canonicalJson(canonical));
}

/**
 * The hash of a set of items: SHA-256 over the count and the sum (mod 2^256) of the item
 * digests. The sum does not depend on order, so the hash of a state needs no sorting, and a
 * cached digest per item makes the hash of 10k items cost 10k additions.
 */
export function stateHash(digests: Iterable<Uint8Array>): string {
  const lanes = new Array<number>(8).fill(0);
  let count = 0;
  for (const d of digests) {
    for (let i = 0, o = 0; i < 8; i++, o += 4) {
      lanes[i]! += ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
    }
    // Lanes hold at most 2^32 * 2^20 < 2^53: fold carries before a lane could lose precision.
    if (++count % 0x100000 === 0) foldCarries(lanes);
  }
  foldCarries(lanes);
  const out = new Uint8Array(4 + 32);
  const view = new DataView(out.buffer);
  view.setUint32(0, count);
  for (let i = 0; i < 8; i++) view.setUint32(4 + i * 4, lanes[i]!);
  return bytesToHex(sha256Bytes(out));
}

function foldCarries(lanes: number[]): void {
  for (let i = 7; i >= 0; i--) {
    const v = lanes[i]!;
    const low = v % 0x100000000;
    const carry = (v - low) / 0x100000000;
    lanes[i] = low;
    if (i > 0) lanes[i - 1]! += carry;
  }
}

/** A short digest of text, hex; used to derive message IDs from content. */
export function textDigest(text: string): string {
  return bytesToHex(sha256(text)).slice(0, 32);
}
