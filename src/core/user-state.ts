import { itemDigest, stateHash } from '../protocol/hash.js';
import type { Interval, Item, UpdateMessage } from '../protocol/message.js';
import { IntervalIndex } from './interval-index.js';

/** The scope of a dismissal: a device ID, or GLOBAL for every device. */
export const GLOBAL = '';

/** An item as a replica keeps it: with the message that created it and its cached digest. */
export interface StoredItem extends Item {
  readonly msgId: string;
  readonly ctime: number;
  readonly digest: Uint8Array;
}

/** A dismissal by interval, kept as a tombstone so items that arrive later are dismissed too. */
export interface StoredInterval extends Interval {
  readonly scope: string;
  readonly ctime: number;
}

/** What compacting a replica before `cutoff` removes and adds; see `Engine.compact`. */
export interface CompactionPlan {
  readonly cutoff: number;
  /** Items to delete (with their reminders): invisible everywhere for good since before `cutoff`. */
  readonly removeItems: readonly string[];
  /** ID tombstones to add, so deleted items and the targets of removed intervals stay dismissed. */
  readonly addTombstones: readonly { readonly id: string; readonly scope: string; readonly ctime: number }[];
  /** Interval tombstones to delete: they end before `cutoff`, and items created before it are refused. */
  readonly removeIntervals: readonly StoredInterval[];
}

/** What one message did to a replica. */
export interface ApplyResult {
  /** Items this message created whose creation is already dismissed: the scopes (GLOBAL or device IDs) where it is hidden. */
  readonly deadOnArrival: ReadonlyMap<string, readonly string[]>;
}

/**
 * One user's replicated state: a CRDT whose messages may be applied in any order, any number of
 * times, and always converge.
 *
 * - Items are immutable; of two creations of one ID the earliest (ctime, msgId) wins.
 * - A dismissal by ID is a tombstone per (item, scope), keeping the earliest ctime; it hides the
 *   item whether the item arrived before or after it.
 * - A dismissal by interval is a tombstone per (category, [begin, end], scope), checked against
 *   every item of that category, including items that arrive later (through an IntervalIndex).
 * - Visibility at time t is computed, never stored: `ctime <= t`, not expired at t, no tombstone
 *   with `ctime <= t` in scope GLOBAL or the device's own.
 */
export class UserState {
  readonly #items = new Map<string, StoredItem>();
  /** item ID -> scope -> earliest ctime of a dismissal. */
  readonly #dismissedIds = new Map<string, Map<string, number>>();
  /** The interval tombstones, indexed by category and scope. */
  #intervals = new IntervalIndex();
  /** The items sorted by (ctime, id), kept up to date on append; null when it must be rebuilt. */
  #sorted: StoredItem[] | null = [];
  /** History before this time (ms) was compacted away; 0 when never compacted. */
  compactedBefore = 0;

  /** Applies an update. Idempotent and order-independent; deduplication of whole messages is the caller's. */
  apply(m: UpdateMessage): ApplyResult {
    const { ctime, msgId } = m.md;
    if (m.dismiss) {
      const scope = m.dismiss.forDevice ?? GLOBAL;
      for (const id of m.dismiss.ids) this.addDismissedId(id, scope, ctime);
      for (const i of m.dismiss.intervals)
        this.addInterval({ category: i.category, scope, begin: i.begin, end: i.end, ctime });
    }
    let dead: Map<string, readonly string[]> | null = null;
    for (const item of m.create) {
      this.addItem(stored(item, msgId, ctime));
      const scopes = this.#items.get(item.id)!.msgId === msgId ? this.dismissedScopes(item) : ONLY_GLOBAL;
      if (scopes.length > 0) {
        dead ??= new Map();
        dead.set(item.id, scopes);
      }
    }
    return { deadOnArrival: dead ?? NO_DEAD };
  }

  /** Adds an item (restoring from storage, or applying); keeps the earliest (ctime, msgId). */
  addItem(item: StoredItem): void {
    const old = this.#items.get(item.id);
    if (old && (old.ctime < item.ctime || (old.ctime === item.ctime && old.msgId <= item.msgId))) return;
    this.#items.set(item.id, item);
    // Most items arrive in ctime order: appending keeps the order without sorting.
    const last = this.#sorted?.[this.#sorted.length - 1];
    if (!old && this.#sorted && (!last || byCtimeThenId(last, item) < 0)) this.#sorted.push(item);
    else this.#sorted = null;
  }

  addDismissedId(id: string, scope: string, ctime: number): void {
    let scopes = this.#dismissedIds.get(id);
    if (!scopes) {
      scopes = new Map();
      this.#dismissedIds.set(id, scopes);
    }
    const old = scopes.get(scope);
    if (old === undefined || ctime < old) scopes.set(scope, ctime);
  }

  /** Keeps an interval tombstone; of two with the same (category, scope, begin, end), the earliest ctime. */
  addInterval(i: StoredInterval): void {
    this.#intervals.add(i);
  }

  /** How many interval tombstones are kept (see LIMITS.maxIntervalTombstonesPerUser). */
  get intervalCount(): number {
    return this.#intervals.size;
  }

  /** Whether an interval tombstone with this key is kept (whatever its ctime). */
  hasInterval(category: string, scope: string, begin: number | null, end: number): boolean {
    return this.#intervals.has(category, scope, begin, end);
  }

  /**
   * How many device scopes (not GLOBAL) hold interval tombstones (see
   * LIMITS.maxIntervalScopesPerUser). O(1); `upTo` is for implementations that count rows.
   */
  deviceScopeCount(_upTo: number): number {
    return this.#intervals.scopeCount - (this.#intervals.hasScope(GLOBAL) ? 1 : 0);
  }

  /** Whether `scope` (GLOBAL or a device) holds an interval tombstone, in any category. */
  hasIntervalScope(scope: string): boolean {
    return this.#intervals.hasScope(scope);
  }

  /** An independent copy (items are immutable, so they are shared): for optimistic overlays. */
  clone(): UserState {
    const copy = new UserState();
    for (const item of this.#items.values()) copy.#items.set(item.id, item);
    for (const [id, scopes] of this.#dismissedIds) copy.#dismissedIds.set(id, new Map(scopes));
    copy.#intervals = this.#intervals.clone();
    copy.#sorted = this.#sorted && [...this.#sorted];
    copy.compactedBefore = this.compactedBefore;
    return copy;
  }

  getItem(id: string): StoredItem | undefined {
    return this.#items.get(id);
  }

  /**
   * Is the item visible on `device` at time `t`? `device: null` is the global view: an item for
   * one device counts there until that device dismisses it. `t: null` means "now, with every
   * consumed message": a message stamped in the future by a node with a fast clock still counts.
   */
  isVisible(item: StoredItem, device: string | null, t: number | null, now: number): boolean {
    if (t !== null && item.ctime > t) return false;
    if (item.expires !== null && item.expires <= (t ?? now)) return false;
    if (device !== null && item.forDevice !== null && item.forDevice !== device) return false;
    return !this.#dismissedAt(item, device === null ? (item.forDevice ?? GLOBAL) : device, t);
  }

  /** The visible items, sorted by (ctime, id). */
  visibleItems(device: string | null, t: number | null, now: number): StoredItem[] {
    if (!this.#sorted) this.#sorted = [...this.#items.values()].sort(byCtimeThenId);
    const out: StoredItem[] = [];
    for (const item of this.#sorted) if (this.isVisible(item, device, t, now)) out.push(item);
    return out;
  }

  /** The state hash of a list of visible items. */
  static hash(items: readonly StoredItem[]): string {
    return stateHash(items.map((i) => i.digest));
  }

  /** Every item (for compaction and tests), in insertion order. */
  allItems(): IterableIterator<StoredItem> {
    return this.#items.values();
  }

  /** Scopes in which an item is dismissed by some tombstone, regardless of time (sorted). */
  dismissedScopes(item: Item): readonly string[] {
    const byId = this.#dismissedIds.get(item.id);
    if (byId === undefined && !this.#intervals.hasCategory(item.category)) return NO_SCOPES;
    const scopes = new Set(byId?.keys() ?? []);
    this.#intervals.coveringScopes(item.category, item.created, scopes);
    return scopes.size === 0 ? NO_SCOPES : [...scopes].sort();
  }

  /**
   * Plans a compaction before `cutoff`. Interval tombstones that end before it become ID
   * tombstones on the items they cover; then items dismissed everywhere (or expired) before it go.
   */
  compactionPlan(cutoff: number): CompactionPlan {
    const addTombstones: { id: string; scope: string; ctime: number }[] = [];
    const removeIntervals: StoredInterval[] = [];
    const removed = new IntervalIndex();
    for (const i of this.#intervals.all()) {
      if (i.end >= cutoff) continue;
      removeIntervals.push(i);
      removed.add(i);
    }
    if (removed.size > 0) {
      // One ID tombstone per (item, scope) with the earliest ctime of the removed intervals covering
      // it: applying one per interval would keep exactly that one anyway.
      const scopes = new Set<string>();
      for (const item of this.#items.values()) {
        if (!removed.hasCategory(item.category)) continue;
        scopes.clear();
        removed.coveringScopes(item.category, item.created, scopes);
        for (const scope of scopes) {
          const ctime = removed.coveredSince(item.category, scope, item.created);
          addTombstones.push({ id: item.id, scope, ctime });
        }
      }
    }
    const removeItems: string[] = [];
    for (const item of this.#items.values()) {
      // The ID tombstones planned above come from intervals still kept here, so they add nothing.
      const gone = this.#goneEverywhereAt(item);
      if (gone !== null && gone < cutoff) {
        removeItems.push(item.id);
        addTombstones.push({ id: item.id, scope: GLOBAL, ctime: gone });
      }
    }
    return { cutoff, removeItems, addTombstones, removeIntervals };
  }

  /** Carries out a plan from `compactionPlan` (engines apply the same plan to their tables). */
  applyCompaction(plan: CompactionPlan): void {
    for (const t of plan.addTombstones) this.addDismissedId(t.id, t.scope, t.ctime);
    for (const id of plan.removeItems) this.#items.delete(id);
    if (plan.removeItems.length > 0) this.#sorted = null;
    for (const i of plan.removeIntervals) this.#intervals.delete(i);
    this.compactedBefore = Math.max(this.compactedBefore, plan.cutoff);
  }

  /** When the item became invisible on every device for good, or null while it may still show somewhere. */
  #goneEverywhereAt(item: StoredItem): number | null {
    const scope = item.forDevice ?? GLOBAL;
    let gone = item.expires;
    const consider = (when: number) => {
      gone = gone === null ? when : Math.min(gone, when);
    };
    const byId = this.#dismissedIds.get(item.id);
    for (const s of scope === GLOBAL ? [GLOBAL] : [GLOBAL, scope]) {
      const when = byId?.get(s);
      if (when !== undefined) consider(when);
    }
    for (const s of scope === GLOBAL ? [GLOBAL] : [GLOBAL, scope]) {
      const when = this.#intervals.coveredSince(item.category, s, item.created);
      if (when !== Infinity) consider(when);
    }
    return gone;
  }

  #dismissedAt(item: StoredItem, scope: string, t: number | null): boolean {
    const byId = this.#dismissedIds.get(item.id);
    if (byId !== undefined) {
      const global = byId.get(GLOBAL);
      if (global !== undefined && (t === null || global <= t)) return true;
      const own = scope === GLOBAL ? undefined : byId.get(scope);
      if (own !== undefined && (t === null || own <= t)) return true;
    }
    // The earliest ctime of an interval tombstone covering the item: hidden at t once it is <= t.
    const global = this.#intervals.coveredSince(item.category, GLOBAL, item.created);
    if (t === null ? global !== Infinity : global <= t) return true;
    if (scope === GLOBAL) return false;
    const own = this.#intervals.coveredSince(item.category, scope, item.created);
    return t === null ? own !== Infinity : own <= t;
  }
}

const NO_SCOPES: readonly string[] = [];
const ONLY_GLOBAL: readonly string[] = [GLOBAL];
const NO_DEAD: ReadonlyMap<string, readonly string[]> = new Map();

/** The stored form of an item, built field by field (a spread is several times slower here). */
function stored(item: Item, msgId: string, ctime: number): StoredItem {
  return {
    id: item.id,
    category: item.category,
    created: item.created,
    expires: item.expires,
    remindAt: item.remindAt,
    forDevice: item.forDevice,
    body: item.body,
    msgId,
    ctime,
    digest: itemDigest(item),
  };
}

function byCtimeThenId(a: StoredItem, b: StoredItem): number {
  return a.ctime - b.ctime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
