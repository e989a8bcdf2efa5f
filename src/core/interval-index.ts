import type { StoredInterval } from './user-state.js';

/**
 * The interval tombstones of one replica, indexed so that every question a read or a create asks
 * costs O(log n) instead of a scan of every tombstone of the category.
 *
 * Why: a tombstone is checked against every item of its category, on every create and every read.
 * Scanning them all made a user with 5,000 tombstones and 1,000 items cost seconds of event loop.
 *
 * The raw tombstones stay (storage and compaction need them, and exact semantics need each
 * ctime). Per (category, scope) they are compiled, lazily after a change, into their _envelope_:
 * for every `created` time, the earliest ctime of a tombstone covering it. "Hidden at t" is then
 * `envelope(created) <= t`, "hidden now" is `envelope(created) < ∞`; a naive union of the intervals
 * would lose the ctimes that time travel needs. Per category, the coalesced covered ranges of every
 * scope form an interval tree that answers "which scopes cover `created`".
 */
export class IntervalIndex {
  #categories = new Map<string, CategoryTombstones>();
  #size = 0;
  /** scope -> how many tombstones it holds, over every category (see LIMITS.maxIntervalScopesPerUser). */
  #perScope = new Map<string, number>();

  /** How many tombstones are kept (one per category, scope, begin and end). */
  get size(): number {
    return this.#size;
  }

  /** Keeps a tombstone; of two with the same key, the earliest ctime. O(1): queries rebuild lazily. */
  add(i: StoredInterval): void {
    let category = this.#categories.get(i.category);
    if (!category) {
      category = new CategoryTombstones();
      this.#categories.set(i.category, category);
    }
    if (category.add(i)) {
      this.#size += 1;
      this.#perScope.set(i.scope, (this.#perScope.get(i.scope) ?? 0) + 1);
    }
  }

  /** Forgets the tombstone with this key (whatever its ctime); whether there was one. */
  delete(i: Omit<StoredInterval, 'ctime'>): boolean {
    const category = this.#categories.get(i.category);
    if (!category?.delete(i.scope, i.begin, i.end)) return false;
    this.#size -= 1;
    if (category.empty) this.#categories.delete(i.category);
    const left = this.#perScope.get(i.scope)! - 1;
    if (left === 0) this.#perScope.delete(i.scope);
    else this.#perScope.set(i.scope, left);
    return true;
  }

  /** How many distinct scopes (GLOBAL included) hold a tombstone. O(1). */
  get scopeCount(): number {
    return this.#perScope.size;
  }

  /** Whether `scope` holds a tombstone in any category. O(1). */
  hasScope(scope: string): boolean {
    return this.#perScope.has(scope);
  }

  has(category: string, scope: string, begin: number | null, end: number): boolean {
    return this.#categories.get(category)?.scopes.get(scope)?.byKey.get(begin, end) !== undefined;
  }

  hasCategory(category: string): boolean {
    return this.#categories.has(category);
  }

  /** Every tombstone, by category, then scope, then insertion. */
  *all(): IterableIterator<StoredInterval> {
    for (const category of this.#categories.values())
      for (const scope of category.scopes.values()) yield* scope.byKey.values();
  }

  /**
   * The earliest ctime of a tombstone of `category` in `scope` whose interval covers `created`;
   * Infinity when none does. O(log n).
   */
  coveredSince(category: string, scope: string, created: number): number {
    const s = this.#categories.get(category)?.scopes.get(scope);
    return s ? s.envelope().at(created) : Infinity;
  }

  /** Adds to `out` the scopes with a tombstone of `category` covering `created`, at any ctime. */
  coveringScopes(category: string, created: number, out: Set<string>): void {
    const c = this.#categories.get(category);
    if (!c) return;
    if (c.scopes.size === 1) {
      const [scope, s] = c.scopes.entries().next().value!;
      if (s.envelope().at(created) < Infinity) out.add(scope);
      return;
    }
    c.stabber().stab(created, out);
  }

  /** An independent copy; compiled parts are immutable, so they are shared until either side changes. */
  clone(): IntervalIndex {
    const copy = new IntervalIndex();
    for (const [name, category] of this.#categories) copy.#categories.set(name, category.clone());
    copy.#size = this.#size;
    copy.#perScope = new Map(this.#perScope);
    return copy;
  }
}

/**
 * The tombstones of one (category, scope) by their bounds: maps keyed by the numbers themselves
 * (end, then begin; a null begin as -Infinity), so keeping one builds no key string.
 */
class Bounds {
  readonly #byEnd = new Map<number, Map<number, StoredInterval>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(begin: number | null, end: number): StoredInterval | undefined {
    return this.#byEnd.get(end)?.get(begin ?? -Infinity);
  }

  set(i: StoredInterval): void {
    let byBegin = this.#byEnd.get(i.end);
    if (!byBegin) {
      byBegin = new Map();
      this.#byEnd.set(i.end, byBegin);
    }
    const size = byBegin.size;
    byBegin.set(i.begin ?? -Infinity, i);
    this.#size += byBegin.size - size;
  }

  delete(begin: number | null, end: number): boolean {
    const byBegin = this.#byEnd.get(end);
    if (!byBegin?.delete(begin ?? -Infinity)) return false;
    if (byBegin.size === 0) this.#byEnd.delete(end);
    this.#size -= 1;
    return true;
  }

  *values(): IterableIterator<StoredInterval> {
    for (const byBegin of this.#byEnd.values()) yield* byBegin.values();
  }

  clone(): Bounds {
    const copy = new Bounds();
    for (const [end, byBegin] of this.#byEnd) copy.#byEnd.set(end, new Map(byBegin));
    copy.#size = this.#size;
    return copy;
  }
}

class CategoryTombstones {
  readonly scopes = new Map<string, ScopeTombstones>();
  #stabber: Stabber | null = null;

  get empty(): boolean {
    return this.scopes.size === 0;
  }

  /** Whether the key is new. */
  add(i: StoredInterval): boolean {
    let scope = this.scopes.get(i.scope);
    if (!scope) {
      scope = new ScopeTombstones();
      this.scopes.set(i.scope, scope);
    }
    const old = scope.byKey.get(i.begin, i.end);
    if (old && old.ctime <= i.ctime) return false;
    // A copy of one shape whatever the source (a spread, a database row): the builds read
    // thousands of them, and mixed shapes made them several times slower.
    scope.byKey.set({
      category: i.category,
      scope: i.scope,
      begin: i.begin,
      end: i.end,
      ctime: i.ctime,
    });
    scope.changed();
    this.#stabber = null;
    return !old;
  }

  delete(scope: string, begin: number | null, end: number): boolean {
    const s = this.scopes.get(scope);
    if (!s?.byKey.delete(begin, end)) return false;
    if (s.byKey.size === 0) this.scopes.delete(scope);
    else s.changed();
    this.#stabber = null;
    return true;
  }

  stabber(): Stabber {
    if (!this.#stabber) {
      const ranges: Range[] = [];
      for (const [scope, s] of this.scopes) for (const r of s.coalesced()) ranges.push({ ...r, scope });
      this.#stabber = new Stabber(ranges);
    }
    return this.#stabber;
  }

  clone(): CategoryTombstones {
    const copy = new CategoryTombstones();
    for (const [name, scope] of this.scopes) copy.scopes.set(name, scope.clone());
    copy.#stabber = this.#stabber;
    return copy;
  }
}

class ScopeTombstones {
  /** (begin, end) -> the tombstone with the earliest ctime. */
  byKey = new Bounds();
  #envelope: Envelope | null = null;
  #coalesced: readonly { lo: number; hi: number }[] | null = null;

  changed(): void {
    this.#envelope = null;
    this.#coalesced = null;
  }

  envelope(): Envelope {
    this.#envelope ??= Envelope.of([...this.byKey.values()]);
    return this.#envelope;
  }

  /** The covered `created` times as disjoint closed ranges, sorted (begin null is -Infinity). */
  coalesced(): readonly { lo: number; hi: number }[] {
    if (!this.#coalesced) {
      const sorted = [...this.byKey.values()]
        .map((i) => ({ lo: i.begin ?? -Infinity, hi: i.end }))
        .sort((a, b) => a.lo - b.lo);
      const out: { lo: number; hi: number }[] = [];
      for (const r of sorted) {
        const last = out[out.length - 1];
        if (last && r.lo <= last.hi) last.hi = Math.max(last.hi, r.hi);
        else out.push({ ...r });
      }
      this.#coalesced = out;
    }
    return this.#coalesced;
  }

  clone(): ScopeTombstones {
    const copy = new ScopeTombstones();
    copy.byKey = this.byKey.clone();
    copy.#envelope = this.#envelope;
    copy.#coalesced = this.#coalesced;
    return copy;
  }
}

/**
 * A piecewise-constant function of `created`: the earliest ctime of a tombstone covering it
 * (Infinity where none does), as runs sorted by where they start. A run starts at a point
 * (closed) or just after one (open); the first starts at -Infinity.
 */
class Envelope {
  readonly #lo: Float64Array;
  readonly #open: Uint8Array;
  readonly #since: Float64Array;

  private constructor(lo: Float64Array, open: Uint8Array, since: Float64Array) {
    this.#lo = lo;
    this.#open = open;
    this.#since = since;
  }

  /**
   * Splits the line at every begin and end into pieces (each point, and each gap between two),
   * paints each piece with the earliest ctime covering it (tombstones in ctime order, skipping
   * painted pieces with a union-find), then merges equal neighbours into runs. O(n log n).
   */
  static of(intervals: readonly StoredInterval[]): Envelope {
    const sorted = new Float64Array(2 * intervals.length);
    let n = 0;
    for (const i of intervals) {
      if (i.begin !== null) sorted[n++] = i.begin;
      sorted[n++] = i.end;
    }
    sorted.subarray(0, n).sort();
    let m = 0;
    for (let k = 0; k < n; k++) if (k === 0 || sorted[k] !== sorted[m - 1]) sorted[m++] = sorted[k]!;
    const points = sorted.subarray(0, m);
    // Piece 2k+1 is points[k]; piece 2k is the gap before it; piece 2m the gap after the last.
    const pieces = 2 * m + 1;
    const value = new Float64Array(pieces).fill(Infinity);
    const next = new Int32Array(pieces + 1);
    for (let p = 0; p <= pieces; p++) next[p] = p;
    const find = (p: number): number => {
      let root = p;
      while (next[root] !== root) root = next[root]!;
      while (next[p] !== root) {
        const up = next[p]!;
        next[p] = root;
        p = up;
      }
      return root;
    };
    // Tombstones mostly arrive in ctime order: sort only when they did not.
    let byCtime = intervals;
    for (let k = 1; k < intervals.length; k++) {
      if (intervals[k]!.ctime < intervals[k - 1]!.ctime) {
        byCtime = [...intervals].sort((a, b) => a.ctime - b.ctime);
        break;
      }
    }
    for (const i of byCtime) {
      const first = i.begin === null ? 0 : 2 * indexOf(points, i.begin) + 1;
      const last = 2 * indexOf(points, i.end) + 1;
      for (let p = find(first); p <= last; p = find(p + 1)) {
        value[p] = i.ctime;
        next[p] = p + 1;
      }
    }
    const lo = new Float64Array(pieces);
    const open = new Uint8Array(pieces);
    const since = new Float64Array(pieces);
    let runs = 0;
    for (let p = 0; p < pieces; p++) {
      if (p > 0 && value[p] === since[runs - 1]) continue;
      if (p === 0) lo[runs] = -Infinity;
      else if (p % 2 === 1) lo[runs] = points[(p - 1) / 2]!;
      else {
        lo[runs] = points[p / 2 - 1]!;
        open[runs] = 1;
      }
      since[runs++] = value[p]!;
    }
    return new Envelope(lo.slice(0, runs), open.slice(0, runs), since.slice(0, runs));
  }

  /** The earliest ctime of a tombstone covering `x`, or Infinity. */
  at(x: number): number {
    const lo = this.#lo;
    const open = this.#open;
    // The last run that starts at or before x; run 0 starts at -Infinity.
    let a = 0;
    let b = lo.length - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (lo[mid]! < x || (lo[mid] === x && open[mid] === 0)) a = mid;
      else b = mid - 1;
    }
    return this.#since[a]!;
  }
}

/** The index of `x` in sorted, distinct `points` (x is one of them). */
function indexOf(points: Float64Array, x: number): number {
  let a = 0;
  let b = points.length - 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (points[mid]! < x) a = mid + 1;
    else b = mid;
  }
  return a;
}

interface Range {
  readonly lo: number;
  readonly hi: number;
  readonly scope: string;
}

/**
 * Closed ranges of several scopes (disjoint within a scope), sorted by start, as an implicit
 * balanced tree: the node of [l, r) is its middle index, and knows the largest end below it.
 * A stabbing query visits O(log n) nodes per range it reports.
 */
class Stabber {
  readonly #lo: Float64Array;
  readonly #hi: Float64Array;
  readonly #scope: string[];
  readonly #maxHi: Float64Array;

  constructor(ranges: Range[]) {
    ranges.sort((a, b) => a.lo - b.lo);
    this.#lo = Float64Array.from(ranges, (r) => r.lo);
    this.#hi = Float64Array.from(ranges, (r) => r.hi);
    this.#scope = ranges.map((r) => r.scope);
    this.#maxHi = new Float64Array(ranges.length);
    this.#build(0, ranges.length);
  }

  #build(l: number, r: number): number {
    if (l >= r) return -Infinity;
    const mid = (l + r) >>> 1;
    const max = Math.max(this.#hi[mid]!, this.#build(l, mid), this.#build(mid + 1, r));
    this.#maxHi[mid] = max;
    return max;
  }

  /** Adds the scope of every range containing x. */
  stab(x: number, out: Set<string>, l = 0, r = this.#lo.length): void {
    while (l < r) {
      const mid = (l + r) >>> 1;
      if (this.#maxHi[mid]! < x) return;
      this.stab(x, out, l, mid);
      if (this.#lo[mid]! > x) return;
      if (this.#hi[mid]! >= x) out.add(this.#scope[mid]!);
      l = mid + 1;
    }
  }
}
