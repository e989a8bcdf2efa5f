import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GLOBAL, type StoredInterval, type StoredItem, UserState } from '../../src/core/user-state.js';
import { itemDigest } from '../../src/protocol/hash.js';
import type { Item } from '../../src/protocol/message.js';

type Tomb = { id: string; scope: string; ctime: number };

const covers = (i: StoredInterval, created: number) =>
  (i.begin === null || i.begin <= created) && created <= i.end;

/** The plan as UserState made it before the interval index: a scan of every tombstone per item. */
function scanPlan(
  items: readonly StoredItem[],
  ids: readonly Tomb[],
  intervals: readonly StoredInterval[],
  cutoff: number,
) {
  const addTombstones: Tomb[] = [];
  const removeIntervals: StoredInterval[] = [];
  for (const i of intervals) {
    if (i.end >= cutoff) continue;
    removeIntervals.push(i);
    for (const item of items) {
      if (item.category === i.category && covers(i, item.created)) {
        addTombstones.push({ id: item.id, scope: i.scope, ctime: i.ctime });
      }
    }
  }
  const removeItems: string[] = [];
  for (const item of items) {
    const scope = item.forDevice ?? GLOBAL;
    const inScope = (s: string) => s === GLOBAL || s === scope;
    const times = [
      ...(item.expires === null ? [] : [item.expires]),
      ...ids.filter((t) => t.id === item.id && inScope(t.scope)).map((t) => t.ctime),
      ...addTombstones.filter((t) => t.id === item.id && inScope(t.scope)).map((t) => t.ctime),
      ...intervals
        .filter((i) => i.category === item.category && inScope(i.scope) && covers(i, item.created))
        .map((i) => i.ctime),
    ];
    const gone = times.length === 0 ? null : Math.min(...times);
    if (gone !== null && gone < cutoff) {
      removeItems.push(item.id);
      addTombstones.push({ id: item.id, scope: GLOBAL, ctime: gone });
    }
  }
  return { addTombstones, removeIntervals, removeItems };
}

/** What a list of ID tombstones leaves once applied: the earliest ctime per (item, scope). */
function applied(tombs: readonly Tomb[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tombs) {
    const key = `${t.id}\0${t.scope}`;
    out.set(key, Math.min(out.get(key) ?? Infinity, t.ctime));
  }
  return out;
}

const intervalKey = (i: StoredInterval) => `${i.category}\0${i.scope}\0${i.begin}\0${i.end}`;

describe('UserState.compactionPlan with indexed interval tombstones', () => {
  it('removes and tombstones what the scan of every tombstone did, and changes no state at or after the cutoff', () => {
    const scope = fc.constantFrom(GLOBAL, 'd1', 'd2');
    const arbitraries = [
      fc.array(
        fc.record({
          category: fc.constantFrom('x', 'y'),
          created: fc.integer({ min: 0, max: 30 }),
          ctime: fc.integer({ min: 1, max: 20 }),
          life: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
          forDevice: fc.constantFrom(null, 'd1', 'd2'),
        }),
        { maxLength: 10 },
      ),
      fc.array(fc.record({ n: fc.nat(9), scope, ctime: fc.integer({ min: 1, max: 20 }) }), { maxLength: 6 }),
      fc.array(
        fc.record({
          category: fc.constantFrom('x', 'y'),
          scope,
          a: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
          b: fc.integer({ min: 0, max: 30 }),
          ctime: fc.integer({ min: 1, max: 20 }),
        }),
        { maxLength: 10 },
      ),
      fc.integer({ min: 0, max: 25 }),
    ] as const;
    fc.assert(
      fc.property(...arbitraries, (specs, idSpecs, intervalSpecs, cutoff) => {
        const state = new UserState();
        const items: StoredItem[] = specs.map((s, n) => {
          const item: Item = {
            id: `i${n}`,
            category: s.category,
            created: s.created,
            expires: s.life === null ? null : s.created + s.life,
            remindAt: [],
            forDevice: s.forDevice,
            body: null,
          };
          return { ...item, msgId: `m${n}`, ctime: s.ctime, digest: itemDigest(item) };
        });
        for (const item of items) state.addItem(item);
        const ids = idSpecs.map((t) => ({ id: `i${t.n}`, scope: t.scope, ctime: t.ctime }));
        for (const t of ids) state.addDismissedId(t.id, t.scope, t.ctime);
        const byKey = new Map<string, StoredInterval>();
        for (const { a, b, ...rest } of intervalSpecs) {
          const i = {
            ...rest,
            begin: a === null ? null : Math.min(a, b),
            end: a === null ? b : Math.max(a, b),
          };
          state.addInterval(i);
          const old = byKey.get(intervalKey(i));
          if (!old || i.ctime < old.ctime) byKey.set(intervalKey(i), i);
        }
        const kept = applied(ids);
        const reference = scanPlan(
          items,
          [...kept].map(([k, ctime]) => {
            const [id, s] = k.split('\0') as [string, string];
            return { id, scope: s, ctime };
          }),
          [...byKey.values()],
          cutoff,
        );

        const plan = state.compactionPlan(cutoff);
        expect([...plan.removeItems].sort()).toEqual([...reference.removeItems].sort());
        expect(plan.removeIntervals.map(intervalKey).sort()).toEqual(
          reference.removeIntervals.map(intervalKey).sort(),
        );
        expect(applied(plan.addTombstones)).toEqual(applied(reference.addTombstones));

        const compacted = state.clone();
        compacted.applyCompaction(plan);
        const now = cutoff + 5;
        for (const device of [null, 'd1', 'd2', 'd3']) {
          for (const t of [null, cutoff, cutoff + 3, 40]) {
            const ids = (s: UserState) => s.visibleItems(device, t, now).map((i) => i.id);
            expect(ids(compacted)).toEqual(ids(state));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
