import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { itemDigest, stateHash } from '../../src/protocol/hash.js';
import { canonicalJson } from '../../src/protocol/json.js';
import type { Item } from '../../src/protocol/message.js';

const item = (id: string, body: Item['body'] = null): Item => ({
  id,
  category: 'c',
  created: 1000,
  expires: null,
  remindAt: [],
  forDevice: null,
  body,
});

describe('the state hash', () => {
  it('keeps its format: golden values the SDK must reproduce', () => {
    expect(stateHash([])).toMatchInlineSnapshot(
      `"6db65fd59fd356f6729140571b5bcd6bb3b83492a16e1bf0a3884442fc3c8a0e"`,
    );
    expect(stateHash([itemDigest(item('a', { x: [1, 'y'] }))])).toMatchInlineSnapshot(
      `"eb46024b35f78f3e3aa39471324414ba43b9a6316946ecf63a7af5e150164e25"`,
    );
  });

  it('does not depend on the order of items, nor on the order of keys in bodies', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 20 }), (ids) => {
        const digests = ids.map((id) => itemDigest(item(id, { b: 1, a: [id] })));
        const reordered = ids.map((id) =>
          itemDigest(item(id, JSON.parse(`{"a":${JSON.stringify([id])},"b":1}`))),
        );
        expect(stateHash([...reordered].reverse())).toBe(stateHash(digests));
      }),
      { numRuns: 1000 },
    );
  });

  it('differs when any field of any item differs', () => {
    const base = item('a', { n: 1 });
    const variants: Item[] = [
      { ...base, id: 'b' },
      { ...base, category: 'd' },
      { ...base, created: 1001 },
      { ...base, expires: 5000 },
      { ...base, remindAt: [2000] },
      { ...base, forDevice: 'phone' },
      { ...base, body: { n: 2 } },
    ];
    const hashes = new Set([base, ...variants].map((i) => stateHash([itemDigest(i)])));
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});
