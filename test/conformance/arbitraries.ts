import fc from 'fast-check';
import type { InBandMessage } from '../../src/protocol/message.js';
import { wire } from './fixtures.js';

/** A small universe, so random messages collide on IDs, categories, devices and times. */
const ITEM_IDS = ['a', 'b', 'c', 'd', 'e'];
const CATEGORIES = ['x', 'y'];
const DEVICES = ['d1', 'd2'];
/** Message ctimes and item times, in seconds. */
export const TIME_MIN = 1000;
export const TIME_MAX = 1100;
/** Every device a property looks at: the global view, the devices messages name, and one that never appears. */
export const VIEWS: readonly (string | null)[] = [null, 'd1', 'd2', 'new-device'];

const time = fc.integer({ min: TIME_MIN, max: TIME_MAX });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const wireItem = fc
  .record({
    category: fc.constantFrom(...CATEGORIES),
    created: maybe(time),
    lifetime: maybe(fc.integer({ min: 1, max: 120 })),
    for_device: maybe(fc.constantFrom(...DEVICES)),
    remind_at: fc.array(time, { maxLength: 2 }),
    body: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 3 }), fc.constantFrom('p', 'q')),
  })
  .map(({ lifetime, created, ...rest }) => ({ created, lifetime, ...rest }));

const interval = fc
  .record({ category: fc.constantFrom(...CATEGORIES), a: maybe(time), b: time })
  .map(({ category, a, b }) => ({
    category,
    ...(a === undefined ? {} : { begin: Math.min(a, b) }),
    end: a === undefined ? b : Math.max(a, b),
  }));

const dismiss = fc
  .record({
    ids: fc.subarray(ITEM_IDS),
    intervals: fc.array(interval, { maxLength: 2 }),
    for_device: maybe(fc.constantFrom(...DEVICES)),
  })
  .filter((d) => d.ids.length + d.intervals.length > 0);

/** One message's description: its ctime and what it does. */
export interface MessageSpec {
  ctime: number;
  create?: Record<string, fc.Arbitrary<unknown> extends never ? never : WireItemSpec>;
  dismiss?: { ids: string[]; intervals: unknown[]; for_device?: string | undefined };
  flush?: boolean;
}
type WireItemSpec = {
  category: string;
  created: number | undefined;
  lifetime: number | undefined;
  for_device: string | undefined;
  remind_at: number[];
  body: unknown;
};

const create = fc.dictionary(fc.constantFrom(...ITEM_IDS), wireItem, { minKeys: 1, maxKeys: 3 });

export const messageSpec: fc.Arbitrary<MessageSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ ctime: time, create }) },
  { weight: 3, arbitrary: fc.record({ ctime: time, dismiss }) },
  { weight: 2, arbitrary: fc.record({ ctime: time, create, dismiss }) },
  { weight: 1, arbitrary: fc.record({ ctime: time, flush: fc.constant(true) }) },
);

/** Turns specs into messages of user `uid`, with IDs m0, m1, ... */
export function toMessages(uid: string, specs: readonly MessageSpec[]): InBandMessage[] {
  return specs.map((spec, i) => {
    const body: Record<string, unknown> = {};
    if (spec.flush) body.flush = true;
    if (spec.create) {
      body.create = Object.fromEntries(
        Object.entries(spec.create).map(([id, it]) => {
          const base = it.created ?? spec.ctime;
          const times = {
            ...(it.created === undefined ? {} : { created: it.created }),
            ...(it.lifetime === undefined ? {} : { expires: base + it.lifetime }),
            remind_at: it.remind_at,
          };
          return [id, { category: it.category, times, for_device: it.for_device ?? null, body: it.body }];
        }),
      );
    }
    if (spec.dismiss) body.dismiss = spec.dismiss;
    return wire(uid, spec.ctime * 1000, { id: `m${i}`, system: 'gregor', body }) as InBandMessage;
  });
}

/** Message specs plus an order to consume them in: a permutation with some duplicates. */
export const history = fc.array(messageSpec, { minLength: 1, maxLength: 12 }).chain((specs) =>
  fc
    .array(fc.nat({ max: specs.length - 1 }), { maxLength: 4 })
    .chain((dups) => {
      const order = [...specs.keys(), ...dups];
      return fc.shuffledSubarray(order, { minLength: order.length, maxLength: order.length });
    })
    .map((order) => ({ specs, order })),
);
