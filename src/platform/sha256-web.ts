import { sha256 as noble } from '@noble/hashes/sha256';
import { utf8ToBytes } from '@noble/hashes/utils';

/** SHA-256 in browsers: synchronous pure JS (WebCrypto's digest is async only). Same bytes as sha256-node.ts. */
export function sha256(data: string): Uint8Array {
  return noble(utf8ToBytes(data));
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return noble(data);
}
