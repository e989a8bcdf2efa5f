import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalIndex } from '../../src/core/interval-index.js';
import { GLOBAL, type StoredInterval, UserState } from '../../src/core/user-state.js';
import { itemDigest } from '../../src/protocol/hash.js';
import type { Item } from '../../src/protocol/message.js';

const tomb = (
  begin: number | null,
  end: number,
  ctime: number,
  scope = GLOBAL,
  category = 'c',
): StoredInterval => ({ category, scope, begin, end, ctime });

/** The reference: a scan of every tombstone, as UserState did before the index. */
function naiveSince(list: readonly StoredInterval[], category: string, scope: string, x: number): number {
  let since = Infinity;
  for (const i of list) {
    if (i.category === category && i.scope === scope && (i.begin === null || i.begin <= x) && x <= i.end) {
      since = Math.min(since, i.ctime);
    }
  }
  return since;
}

function naiveScopes(list: readonly StoredInterval[], category: string, x: number): string[] {
  const out = new Set<string>();
  for (const i of list) {
    if (i.category === category && (i.begin === null || i.begin <= x) && x <= i.end) out.add(i.scope);
  }
  return [...out].sort();
}

/** The tombstones a replica keeps: one per key, the earliest ctime. */
function kept(list: readonly StoredInterval[]): StoredInterval[] {
  const byKey = new Map<string, StoredInterval>();
  for (const i of list) {
    const key = `${i.category}\0${i.scope}\0${i.begin}\0${i.end}`;
    const old = byKey.get(key);
    if (!old || i.ctime < old.ctime) byKey.set(key, i);
  }
  return [...byKey.values()];
}

const scopesOf = (index: IntervalIndex, category: string, x: number) => {
  const out = new Set<string>();
  index.coveringScopes(category, x, out);
  return [...out].sort();
};

describe('IntervalIndex', () => {
  it('answers the earliest ctime of a covering tombstone, closed at both ends', () => {
    const index = new IntervalIndex();
    index.add(tomb(1, 5, 10));
    index.add(tomb(5, 9, 3));
    index.add(tomb(null, 0, 7));
    const at = (x: number) => index.coveredSince('c', GLOBAL, x);
    expect([-1e15, 0, 0.5, 1, 4.5, 5, 7, 9, 9.5].map(at)).toEqual([
      7,
      7,
      Infinity,
      10,
      10,
      3,
      3,
      3,
      Infinity,
    ]);
    expect(index.coveredSince('other', GLOBAL, 5)).toBe(Infinity);
    expect(index.coveredSince('c', 'phone', 5)).toBe(Infinity);
  });

  it('keeps time travel: a late tombstone over an early one hides only from its own ctime', () => {
    const index = new IntervalIndex();
    index.add(tomb(0, 100, 50));
    index.add(tomb(40, 60, 20));
    expect(index.coveredSince('c', GLOBAL, 10)).toBe(50);
    expect(index.coveredSince('c', GLOBAL, 50)).toBe(20);
    expect(index.coveredSince('c', GLOBAL, 60)).toBe(20);
    expect(index.coveredSince('c', GLOBAL, 61)).toBe(50);
  });

  it('keeps one tombstone per key with the earliest ctime, counts keys, and forgets by key', () => {
    const index = new IntervalIndex();
    index.add(tomb(1, 5, 10));
    index.add(tomb(1, 5, 4));
    index.add(tomb(1, 5, 8));
    index.add(tomb(1, 5, 8, 'phone'));
    index.add(tomb(null, 5, 8));
    expect(index.size).toBe(3);
    expect(index.has('c', GLOBAL, 1, 5)).toBe(true);
    expect(index.has('c', GLOBAL, 2, 5)).toBe(false);
    expect(index.coveredSince('c', GLOBAL, 3)).toBe(4);
    expect(index.delete({ category: 'c', scope: GLOBAL, begin: 1, end: 5 })).toBe(true);
    expect(index.delete({ category: 'c', scope: GLOBAL, begin: 1, end: 5 })).toBe(false);
    expect(index.size).toBe(2);
    expect(index.coveredSince('c', GLOBAL, 3)).toBe(8);
    expect([...index.all()]).toHaveLength(2);
  });

  it('counts the scopes holding tombstones over every category; deleting the last frees one, and a clone keeps its own count', () => {
    const index = new IntervalIndex();
    index.add(tomb(1, 5, 10));
    index.add(tomb(1, 5, 10, 'phone'));
    index.add(tomb(2, 6, 10, 'phone', 'other'));
    index.add(tomb(1, 5, 4, 'phone'));
    expect([index.scopeCount, index.hasScope(GLOBAL), index.hasScope('phone'), index.hasScope('tv')]).toEqual(
      [2, true, true, false],
    );
    const copy = index.clone();
    expect(index.delete({ category: 'c', scope: 'phone', begin: 1, end: 5 })).toBe(true);
    expect([index.scopeCount, index.hasScope('phone')]).toEqual([2, true]);
    expect(index.delete({ category: 'other', scope: 'phone', begin: 2, end: 6 })).toBe(true);
    expect([index.scopeCount, index.hasScope('phone')]).toEqual([1, false]);
    expect([copy.scopeCount, copy.hasScope('phone')]).toEqual([2, true]);
    const state = new UserState();
    state.addInterval(tomb(null, 5, 1));
    state.addInterval(tomb(null, 5, 1, 'phone'));
    state.addInterval(tomb(null, 5, 1, 'tv'));
    expect([state.deviceScopeCount(64), state.hasIntervalScope('tv'), state.hasIntervalScope('pc')]).toEqual([
      2,
      true,
      false,
    ]);
  });

  it('names every scope covering a time, across many scopes', () => {
    const index = new IntervalIndex();
    for (let d = 0; d < 500; d++) index.add(tomb(d * 10, d * 10 + 15, 1, `d${d}`));
    index.add(tomb(null, 12, 1));
    expect(scopesOf(index, 'c', 12)).toEqual([GLOBAL, 'd0', 'd1']);
    expect(scopesOf(index, 'c', 4995)).toEqual(['d498', 'd499']);
    expect(scopesOf(index, 'c', 6000)).toEqual([]);
  });

  it('a clone is independent of its original', () => {
    const index = new IntervalIndex();
    index.add(tomb(1, 5, 10));
    expect(index.coveredSince('c', GLOBAL, 3)).toBe(10);
    const copy = index.clone();
    copy.add(tomb(1, 5, 2));
    copy.add(tomb(6, 8, 2));
    index.delete({ category: 'c', scope: GLOBAL, begin: 1, end: 5 });
    expect(copy.coveredSince('c', GLOBAL, 3)).toBe(2);
    expect(copy.coveredSince('c', GLOBAL, 7)).toBe(2);
    expect(index.coveredSince('c', GLOBAL, 3)).toBe(Infinity);
    expect(index.coveredSince('c', GLOBAL, 7)).toBe(Infinity);
    expect([copy.size, index.size]).toEqual([2, 0]);
  });

  const CATEGORIES = ['x', 'y'];
  const SCOPES = [GLOBAL, 'd1', 'd2', 'd3'];
  const coord = fc.integer({ min: 0, max: 40 });
  const tombstone = fc
    .record({
      category: fc.constantFrom(...CATEGORIES),
      scope: fc.constantFrom(...SCOPES),
      a: fc.option(coord, { nil: null }),
      b: coord,
      ctime: fc.integer({ min: 1, max: 30 }),
    })
    .map(({ category, scope, a, b, ctime }) =>
      tomb(a === null ? null : Math.min(a, b), a === null ? b : Math.max(a, b), ctime, scope, category),
    );
  /** Query points: integers hit the endpoints, halves fall between them. */
  const point = fc.integer({ min: -2, max: 84 }).map((n) => n / 2);
  const op = fc.oneof(
    { weight: 4, arbitrary: tombstone.map((t) => ({ kind: 'add' as const, t })) },
    { weight: 1, arbitrary: fc.nat().map((n) => ({ kind: 'delete' as const, n })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'clone' as const }) },
  );

  it('answers exactly what a scan of every tombstone answers, through adds, deletes and clones', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.tuple(fc.constantFrom(...CATEGORIES), fc.constantFrom(...SCOPES), point), {
          minLength: 1,
          maxLength: 8,
        }),
        (ops, queries) => {
          let index = new IntervalIndex();
          let list: StoredInterval[] = [];
          const answersOf = (ix: IntervalIndex) =>
            queries.map(([c, sc, x]) => [ix.coveredSince(c, sc, x), scopesOf(ix, c, x)]);
          const frozen: { index: IntervalIndex; answers: unknown }[] = [];
          const check = () => {
            expect(index.size).toBe(kept(list).length);
            for (const [category, scope, x] of queries) {
              expect(index.coveredSince(category, scope, x)).toBe(naiveSince(list, category, scope, x));
              expect(scopesOf(index, category, x)).toEqual(naiveScopes(list, category, x));
            }
          };
          for (const o of ops) {
            if (o.kind === 'add') {
              index.add(o.t);
              list.push(o.t);
            } else if (o.kind === 'delete') {
              const all = kept(list);
              if (all.length === 0) continue;
              const gone = all[o.n % all.length]!;
              expect(index.delete(gone)).toBe(true);
              list = list.filter(
                (i) =>
                  !(
                    i.category === gone.category &&
                    i.scope === gone.scope &&
                    i.begin === gone.begin &&
                    i.end === gone.end
                  ),
              );
            } else {
              // Go on with the clone; the original must not move under its later changes.
              frozen.push({ index, answers: answersOf(index) });
              index = index.clone();
            }
            check();
          }
          check();
          for (const f of frozen) expect(answersOf(f.index)).toEqual(f.answers);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('UserState with indexed interval tombstones', () => {
  const item = (id: string, category: string, created: number, forDevice: string | null): Item => ({
    id,
    category,
    created,
    expires: null,
    remindAt: [],
    forDevice,
    body: null,
  });

  it('shows exactly the items a scan of every tombstone shows, on every device, now and at any time', () => {
    const tombstone = fc.record({
      category: fc.constantFrom('x', 'y'),
      scope: fc.constantFrom(GLOBAL, 'd1', 'd2'),
      a: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
      b: fc.integer({ min: 0, max: 30 }),
      ctime: fc.integer({ min: 1, max: 20 }),
    });
    const items = fc.array(
      fc.record({
        category: fc.constantFrom('x', 'y'),
        created: fc.integer({ min: 0, max: 60 }).map((n) => n / 2),
        ctime: fc.integer({ min: 1, max: 20 }),
        forDevice: fc.constantFrom(null, 'd1', 'd2'),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(
        fc.array(tombstone, { maxLength: 25 }),
        items,
        fc.option(fc.integer({ min: 0, max: 21 }), { nil: null }),
        (raw, specs, t) => {
          const tombs = raw.map(({ a, b, ...r }) => ({
            ...r,
            begin: a === null ? null : Math.min(a, b),
            end: a === null ? b : Math.max(a, b),
          }));
          const state = new UserState();
          for (const i of tombs) state.addInterval(i);
          specs.forEach((s, n) => {
            const it = item(`i${n}`, s.category, s.created, s.forDevice);
            state.addItem({ ...it, msgId: `m${n}`, ctime: s.ctime, digest: itemDigest(it) });
          });
          for (const device of [null, 'd1', 'd2', 'd3']) {
            const expected = specs
              .map((s, n) => ({ ...s, id: `i${n}` }))
              .filter((s) => {
                if (t !== null && s.ctime > t) return false;
                if (device !== null && s.forDevice !== null && s.forDevice !== device) return false;
                const scope = device ?? s.forDevice ?? GLOBAL;
                return !tombs.some(
                  (i) =>
                    i.category === s.category &&
                    (i.scope === GLOBAL || i.scope === scope) &&
                    (t === null || i.ctime <= t) &&
                    (i.begin === null || i.begin <= s.created) &&
                    s.created <= i.end,
                );
              })
              .map((s) => s.id)
              .sort();
            const shown = state
              .visibleItems(device, t, 0)
              .map((i) => i.id)
              .sort();
            expect(shown).toEqual(expected);
          }
          for (const [n, s] of specs.entries()) {
            const it = item(`i${n}`, s.category, s.created, s.forDevice);
            expect(state.dismissedScopes(it)).toEqual(naiveScopes(kept(tombs), s.category, s.created));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
