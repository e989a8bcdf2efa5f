import { createHash } from 'node:crypto';

/** SHA-256 on Node: the native implementation, ~10× faster than pure JS. Same bytes as sha256-web.ts. */
export function sha256(data: string): Uint8Array {
  return createHash('sha256').update(data, 'utf8').digest();
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}
