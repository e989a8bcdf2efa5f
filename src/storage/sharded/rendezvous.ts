import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the shard whose hash of
 * (shard name, key) is highest. Adding a shard moves only the keys it now wins, about 1/(N+1)
 * of them, all onto the new shard; removing one moves only its own keys.
 *
 * @example
 *   const route = new Rendezvous(['a', 'b', 'c']);
 *   route.pick('alice'); // 0, 1 or 2, the same on every process and every run
 */
export class Rendezvous {
  readonly #names: readonly string[];

  constructor(names: readonly string[]) {
    if (names.length === 0) throw new Error('rendezvous hashing needs at least one shard');
    if (new Set(names).size !== names.length) throw new Error('shard names must be unique');
    this.#names = names;
  }

  /** The index of the shard that owns `key`. */
  pick(key: string): number {
    let best = 0;
    let bestWeight = -1n;
    for (let i = 0; i < this.#names.length; i++) {
      const w = weight(this.#names[i]!, key);
      if (w > bestWeight) {
        best = i;
        bestWeight = w;
      }
    }
    return best;
  }
}

/** 64 bits of SHA-256 over (name, key): stable across processes, versions and platforms. */
function weight(name: string, key: string): bigint {
  return createHash('sha256').update(name).update('\0').update(key).digest().readBigUInt64BE(0);
}
