import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Reminder } from '../../src/core/state-machine.js';
import { GregorError } from '../../src/protocol/errors.js';
import { itemDigest, stateHash } from '../../src/protocol/hash.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { stateBlob } from '../../src/protocol/message.js';
import {
  freshUid,
  SEED_FAVORITES,
  SEED_FLUSH,
  SEED_JOIN_BLOB,
  SEED_JOIN_CREATE,
  SEED_JOIN_DISMISS,
  SEED_TYPICAL_CREATE,
  s,
  wire,
} from './fixtures.js';

export interface EngineHarness {
  engine: Engine;
  /** Closes the engine and opens the same store again (durable engines only). */
  reopen?: () => Promise<Engine>;
  cleanup(): Promise<void>;
}

/** Makes one engine for a whole suite; tests isolate themselves with fresh user IDs. */
export type EngineFactory = (options: { now: () => number }) => Promise<EngineHarness>;

/** A mutable clock shared by a suite and its engine. */
export interface Clock {
  now: number;
}

/** Opens an engine per suite with a clock the tests move, and cleans up afterwards. */
export function useEngine(factory: EngineFactory): { clock: Clock; get: () => EngineHarness } {
  const clock: Clock = { now: s(1_700_000_000) };
  let harness: EngineHarness | undefined;
  beforeAll(async () => {
    harness = await factory({ now: () => clock.now });
  });
  afterAll(async () => {
    await harness?.cleanup();
  });
  return { clock, get: () => harness! };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GregorError);
  expect((error as GregorError).code).toBe(code);
}

const item = (category: string, created: number, extra: Record<string, unknown> = {}) => ({
  category,
  times: { created },
  body: { n: created },
  ...extra,
});

/**
 * The behaviour every engine shares, one test per rule. Each engine's test file calls this with
 * its factory: memory, SQLite, PostgreSQL and sharded PostgreSQL run the very same scenarios.
 */
export function describeEngineConformance(name: string, factory: EngineFactory): void {
  describe(`${name} engine conformance`, () => {
    const { clock, get } = useEngine(factory);
    const engine = () => get().engine;

    describe('seed 002 worked examples', () => {
      it('a friend joins: the create becomes the blob of step 3, and the dismissal empties it', async () => {
        const uid = freshUid();
        clock.now = s(1457060000);
        const created = await engine().consumeMessage(wire(uid, s(1457056447), SEED_JOIN_CREATE));
        expect(created.status).toBe('stored');
        expect(stateBlob((await engine().state(uid)).items)).toEqual(SEED_JOIN_BLOB);
        expect(stateBlob((await engine().state(uid, 'any-device')).items)).toEqual(SEED_JOIN_BLOB);
        await engine().consumeMessage(wire(uid, s(1457060000), SEED_JOIN_DISMISS, 'alices-phone'));
        expect(stateBlob((await engine().state(uid)).items)).toEqual({});
        expect(stateBlob((await engine().state(uid, 'alices-laptop')).items)).toEqual({});
      });

      it('the typical create is visible on its device only, until it expires', async () => {
        const uid = freshUid();
        clock.now = s(145000);
        await engine().consumeMessage(wire(uid, s(140000), SEED_TYPICAL_CREATE));
        expect((await engine().state(uid, '33aabb')).items.map((i) => i.id)).toEqual(['aabbccee']);
        expect((await engine().state(uid, 'other')).items).toEqual([]);
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['aabbccee']);
        clock.now = s(150000);
        expect((await engine().state(uid, '33aabb')).items).toEqual([]);
      });

      it('an out-of-band message is relayed, never stored', async () => {
        const uid = freshUid();
        const result = await engine().consumeMessage(wire(uid, clock.now, SEED_FAVORITES));
        expect(result).toMatchObject({ status: 'relayed', seq: null });
        expect((await engine().messagesAfter(uid, null, 0)).messages).toEqual([]);
        expect((await engine().state(uid)).seq).toBe(0);
      });

      it('a flush is stored in the log for offline devices but changes no state', async () => {
        const uid = freshUid();
        clock.now = s(2000);
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        const before = await engine().state(uid);
        const flushed = await engine().consumeMessage(wire(uid, s(1500), SEED_FLUSH));
        expect(flushed.status).toBe('stored');
        const after = await engine().state(uid);
        expect(after.hash).toBe(before.hash);
        const log = await engine().messagesAfter(uid, 'd1', before.seq);
        expect(log.messages.map((m) => m.message.kind)).toEqual(['flush']);
      });
    });

    describe('idempotence and reordering', () => {
      it('consuming the same message twice changes nothing and is not an error', async () => {
        const uid = freshUid();
        const m = wire(uid, s(1000), {
          id: 'm1',
          system: 'gregor',
          body: { create: { a: item('c', 1000) } },
        });
        const first = await engine().consumeMessage(m);
        const state = await engine().state(uid);
        const second = await engine().consumeMessage(m);
        expect(second).toMatchObject({ status: 'duplicate', seq: first.seq });
        const again = await engine().state(uid);
        expect(again.hash).toBe(state.hash);
        expect(again.seq).toBe(state.seq);
      });

      it('a dismissal that arrives before its item still dismisses it', async () => {
        const uid = freshUid();
        clock.now = s(3000);
        await engine().consumeMessage(
          wire(uid, s(2000), { system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
        );
        const created = await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: item('c', 1000), b: item('c', 1000) } },
          }),
        );
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['b']);
        expect((await engine().state(uid, 'd1')).items.map((i) => i.id)).toEqual(['b']);
        expect(created.deadOnArrival).toEqual(new Map([['a', ['']]]));
      });

      it('an interval dismissal that arrives before its items still dismisses them, and only them', async () => {
        const uid = freshUid();
        clock.now = s(5000);
        const dismiss = { intervals: [{ category: 'follow', begin: 100, end: 200 }] };
        await engine().consumeMessage(wire(uid, s(4000), { system: 'gregor', body: { dismiss } }));
        await engine().consumeMessage(
          wire(uid, s(4500), {
            system: 'gregor',
            body: {
              create: {
                inside: item('follow', 150),
                edge: item('follow', 200),
                before: item('follow', 99),
                after: item('follow', 201),
                other: item('joined', 150),
              },
            },
          }),
        );
        const ids = (await engine().state(uid)).items.map((i) => i.id).sort();
        expect(ids).toEqual(['after', 'before', 'other']);
      });

      it('of two creations of one item ID, the earliest wins, in either order', async () => {
        const early = wire('x', s(1000), {
          id: 'early',
          system: 'gregor',
          body: { create: { a: item('c', 1, { body: 'early' }) } },
        });
        const late = wire('x', s(2000), {
          id: 'late',
          system: 'gregor',
          body: { create: { a: item('c', 1, { body: 'late' }) } },
        });
        const hashes: string[] = [];
        for (const order of [
          [early, late],
          [late, early],
        ]) {
          const uid = freshUid();
          for (const m of order) await engine().consumeMessage({ ...m, md: { ...m.md, uid } });
          const state = await engine().state(uid);
          expect(state.items.map((i) => i.body)).toEqual(['early']);
          hashes.push(state.hash);
        }
        expect(hashes[0]).toBe(hashes[1]);
      });

      it('a message that creates and dismisses the same item leaves it dismissed', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: item('c', 1000) }, dismiss: { ids: ['a'] } },
          }),
        );
        expect((await engine().state(uid)).items).toEqual([]);
      });
    });

    describe('devices', () => {
      it('an item without for_device is visible on every device, including devices that appear later', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        for (const device of ['phone', 'laptop', `new-${Date.now()}`]) {
          expect((await engine().state(uid, device)).items.map((i) => i.id)).toEqual(['a']);
        }
      });

      it('an item with for_device is visible on that device only, and in the global view', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: item('c', 1000, { for_device: 'phone' }) } },
          }),
        );
        expect((await engine().state(uid, 'phone')).items.map((i) => i.id)).toEqual(['a']);
        expect((await engine().state(uid, 'laptop')).items).toEqual([]);
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['a']);
      });

      it('a per-device dismissal hides the item on that device only, including devices that appear later', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        await engine().consumeMessage(
          wire(
            uid,
            s(2000),
            { system: 'gregor', body: { dismiss: { ids: ['a'], for_device: 'phone' } } },
            'phone',
          ),
        );
        expect((await engine().state(uid, 'phone')).items).toEqual([]);
        expect((await engine().state(uid, 'laptop')).items.map((i) => i.id)).toEqual(['a']);
        expect((await engine().state(uid, 'added-later')).items.map((i) => i.id)).toEqual(['a']);
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['a']);
      });

      it('a per-device interval dismissal hides the category on that device only', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        await engine().consumeMessage(
          wire(uid, s(2000), {
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'c', end: 1500 }], for_device: 'phone' } },
          }),
        );
        expect((await engine().state(uid, 'phone')).items).toEqual([]);
        expect((await engine().state(uid, 'laptop')).items.map((i) => i.id)).toEqual(['a']);
      });

      it('a global dismissal removes an item everywhere, after per-device dismissals', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        await engine().consumeMessage(
          wire(uid, s(1500), { system: 'gregor', body: { dismiss: { ids: ['a'], for_device: 'phone' } } }),
        );
        await engine().consumeMessage(
          wire(uid, s(2000), { system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
        );
        for (const device of [null, 'phone', 'laptop', 'added-later']) {
          expect((await engine().state(uid, device)).items).toEqual([]);
        }
      });

      it('an item for one device leaves the global view once that device dismisses it', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: item('c', 1000, { for_device: 'phone' }) } },
          }),
        );
        await engine().consumeMessage(
          wire(uid, s(2000), { system: 'gregor', body: { dismiss: { ids: ['a'], for_device: 'phone' } } }),
        );
        expect((await engine().state(uid)).items).toEqual([]);
      });
    });

    describe('time', () => {
      it('an expired item leaves the state at its expiry time without any message', async () => {
        const uid = freshUid();
        clock.now = s(1500);
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: { category: 'c', times: { expires: '+10m' } } } },
          }),
        );
        expect((await engine().state(uid)).items.map((i) => i.expires)).toEqual([s(1600)]);
        clock.now = s(1599.999);
        expect((await engine().state(uid)).items).toHaveLength(1);
        clock.now = s(1600);
        expect((await engine().state(uid)).items).toEqual([]);
      });

      it('the state at a past time shows what was visible then (time travel by ctime)', async () => {
        const uid = freshUid();
        clock.now = s(10_000);
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        await engine().consumeMessage(
          wire(uid, s(2000), { system: 'gregor', body: { create: { b: item('c', 2000) } } }),
        );
        await engine().consumeMessage(
          wire(uid, s(3000), { system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
        );
        const at = async (t: number) =>
          (await engine().state(uid, null, { time: s(t) })).items.map((i) => i.id);
        expect(await at(999)).toEqual([]);
        expect(await at(1000)).toEqual(['a']);
        expect(await at(2500)).toEqual(['a', 'b']);
        expect(await at(3000)).toEqual(['b']);
        const offset = await engine().state(uid, null, { offset: -s(10_000 - 2500) });
        expect(offset.items.map((i) => i.id)).toEqual(['a', 'b']);
        expect(offset.at).toBe(s(2500));
      });

      it('a message stamped in the future by a fast clock counts in the current state at once', async () => {
        const uid = freshUid();
        clock.now = s(1000);
        await engine().consumeMessage(
          wire(uid, s(1002), { system: 'gregor', body: { create: { a: item('c', 1002) } } }),
        );
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['a']);
        expect((await engine().state(uid, null, { time: s(1001) })).items).toEqual([]);
      });

      it('offsets inside a message are relative to its ctime', async () => {
        const uid = freshUid();
        clock.now = s(1000);
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: {
              create: {
                a: { category: 'c', times: { created: '-1m', expires: '+1h', remind_at: ['+30m'] } },
              },
            },
          }),
        );
        const [a] = (await engine().state(uid)).items;
        expect([a?.created, a?.expires, a?.remindAt]).toEqual([s(940), s(4600), [s(2800)]]);
      });
    });

    describe('catching up', () => {
      it('messages since a time are exactly those after it, in commit order', async () => {
        const uid = freshUid();
        clock.now = s(5000);
        for (const t of [1000, 2000, 3000]) {
          await engine().consumeMessage(
            wire(uid, s(t), { id: `m${t}`, system: 'gregor', body: { create: { [`i${t}`]: item('c', t) } } }),
          );
        }
        const since = await engine().inBandMessagesSince(uid, null, { time: s(2000) });
        expect(since.map((m) => m.md.msgId)).toEqual(['m3000']);
        const all = await engine().inBandMessagesSince(uid, 'd1', { offset: -s(5000) });
        expect(all.map((m) => m.md.msgId)).toEqual(['m1000', 'm2000', 'm3000']);
      });

      it("messages for a device leave out other devices' items and dismissals, and items gone now", async () => {
        const uid = freshUid();
        clock.now = s(5000);
        await engine().consumeMessage(
          wire(uid, s(1000), {
            id: 'create',
            system: 'gregor',
            body: {
              create: {
                mine: item('c', 1, { for_device: 'me' }),
                theirs: item('c', 1, { for_device: 'them' }),
                all: item('c', 1),
                gone: item('c', 1),
              },
            },
          }),
        );
        await engine().consumeMessage(
          wire(uid, s(2000), {
            id: 'their-dismiss',
            system: 'gregor',
            body: { dismiss: { ids: ['all'], for_device: 'them' } },
          }),
        );
        await engine().consumeMessage(
          wire(uid, s(3000), { id: 'dismiss-gone', system: 'gregor', body: { dismiss: { ids: ['gone'] } } }),
        );
        const since = await engine().inBandMessagesSince(uid, 'me', { time: 0 });
        expect(since.map((m) => m.md.msgId)).toEqual(['create', 'dismiss-gone']);
        const create = since[0]!;
        expect(create.kind === 'update' && create.create.map((i) => i.id).sort()).toEqual(['all', 'mine']);
        const forThem = await engine().inBandMessagesSince(uid, 'them', { time: 0 });
        expect(forThem.map((m) => m.md.msgId)).toEqual(['create', 'their-dismiss', 'dismiss-gone']);
      });

      it('messages after a cursor are the later ones in commit order, truncated past a limit', async () => {
        const uid = freshUid();
        const seqs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await engine().consumeMessage(
            wire(uid, s(1000 + i), {
              id: `m${i}`,
              system: 'gregor',
              body: { create: { [`i${i}`]: item('c', 1000) } },
            }),
          );
          seqs.push(r.seq!);
        }
        expect(seqs).toEqual([1, 2, 3, 4, 5]);
        const after = await engine().messagesAfter(uid, 'd1', 2);
        expect(after.messages.map((m) => [m.seq, m.message.md.msgId])).toEqual([
          [3, 'm2'],
          [4, 'm3'],
          [5, 'm4'],
        ]);
        expect(after).toMatchObject({ seq: 5, truncated: false });
        const limited = await engine().messagesAfter(uid, 'd1', 0, 2);
        expect(limited.messages.map((m) => m.seq)).toEqual([1, 2]);
        expect(limited.truncated).toBe(true);
        expect((await engine().messagesAfter(uid, 'd1', 5)).messages).toEqual([]);
        expect((await engine().state(uid)).seq).toBe(5);
      });

      it('replaying messages since a time onto the state at that time gives the state now', async () => {
        const uid = freshUid();
        const replica = freshUid();
        clock.now = s(9000);
        const messages = [
          wire(uid, s(1000), {
            id: 'a',
            system: 'gregor',
            body: { create: { a: item('c', 1000), b: item('c', 1000) } },
          }),
          wire(uid, s(2000), { id: 'b', system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
          wire(uid, s(3000), {
            id: 'c',
            system: 'gregor',
            body: { create: { c: item('c', 3000, { for_device: 'd1' }) } },
          }),
          wire(uid, s(4000), {
            id: 'd',
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'c', end: 1500 }] } },
          }),
        ];
        for (const m of messages) await engine().consumeMessage(m);
        for (const m of messages.filter((m) => m.md.ctime <= s(2500))) {
          await engine().consumeMessage({ ...m, md: { ...m.md, uid: replica } });
        }
        for (const m of await engine().inBandMessagesSince(uid, 'd1', { time: s(2500) })) {
          await engine().consumeMessage({ ...m, md: { ...m.md, uid: replica } });
        }
        expect((await engine().state(replica, 'd1')).hash).toBe((await engine().state(uid, 'd1')).hash);
      });
    });

    describe('state hash', () => {
      it('depends only on the visible items, not on the history that produced them', async () => {
        const [u1, u2] = [freshUid(), freshUid()];
        await engine().consumeMessage(
          wire(u1, s(1000), { system: 'gregor', body: { create: { a: item('c', 5), b: item('c', 6) } } }),
        );
        await engine().consumeMessage(
          wire(u1, s(2000), { system: 'gregor', body: { dismiss: { ids: ['b'] } } }),
        );
        await engine().consumeMessage(
          wire(u2, s(1000), { system: 'gregor', body: { create: { a: item('c', 5) } } }),
        );
        const [h1, h2] = [(await engine().state(u1)).hash, (await engine().state(u2)).hash];
        expect(h1).toBe(h2);
        await engine().consumeMessage(
          wire(u2, s(3000), { system: 'gregor', body: { create: { z: item('c', 5) } } }),
        );
        expect((await engine().state(u2)).hash).not.toBe(h1);
      });

      it('is the shared stateHash of the items returned, recomputed from their content', async () => {
        const uid = freshUid();
        expect((await engine().state(uid)).hash).toBe(stateHash([]));
        await engine().consumeMessage(wire(uid, s(1000), SEED_TYPICAL_CREATE));
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { a: item('c', 5, { body: { deep: [1, 'two', { three: null }] } }) } },
          }),
        );
        const state = await engine().state(uid, null, { time: s(145_000) });
        expect(state.items).toHaveLength(2);
        expect(state.hash).toBe(stateHash(state.items.map(itemDigest)));
      });
    });

    describe('reminders', () => {
      it('a due reminder is claimed once, and again only after its lease ends without completion', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { r: { category: 'c', times: { remind_at: ['+1m'] } } } },
          }),
        );
        const mine = (rs: Reminder[]) => rs.filter((r) => r.uid === uid);
        expect(mine(await engine().claimDueReminders('w1', s(1059), 1000, 30_000))).toEqual([]);
        const first = mine(await engine().claimDueReminders('w1', s(1060), 1000, 30_000));
        expect(first.map((r) => [r.item.id, r.remindAt])).toEqual([['r', s(1060)]]);
        expect(mine(await engine().claimDueReminders('w2', s(1070), 1000, 30_000))).toEqual([]);
        const again = mine(await engine().claimDueReminders('w2', s(1091), 1000, 30_000));
        expect(again.map((r) => r.item.id)).toEqual(['r']);
        // w1's lease ended before it finished: its late completion counts for nothing.
        await engine().completeReminders('w1', first);
        const third = mine(await engine().claimDueReminders('w3', s(1122), 1000, 30_000));
        expect(third.map((r) => r.item.id)).toEqual(['r']);
        await engine().completeReminders('w3', third);
        expect(mine(await engine().claimDueReminders('w4', s(1300), 1000, 30_000))).toEqual([]);
      });

      it('a completed reminder is never claimed again', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: { create: { r: { category: 'c', times: { remind_at: ['+1s', '+2s'] } } } },
          }),
        );
        const mine = (rs: Reminder[]) => rs.filter((r) => r.uid === uid);
        const due = mine(await engine().claimDueReminders('w', s(1005), 1000, 1000));
        expect(due.map((r) => r.remindAt)).toEqual([s(1001), s(1002)]);
        await engine().completeReminders('w', due);
        expect(mine(await engine().claimDueReminders('w', s(2000), 1000, 1000))).toEqual([]);
      });

      it('reminders of dismissed or expired items are dropped, not delivered', async () => {
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), {
            system: 'gregor',
            body: {
              create: {
                dismissed: { category: 'c', times: { remind_at: ['+1m'] } },
                expired: { category: 'c', times: { expires: '+30s', remind_at: ['+1m'] } },
                kept: { category: 'c', times: { remind_at: ['+1m'] } },
              },
            },
          }),
        );
        await engine().consumeMessage(
          wire(uid, s(1010), { system: 'gregor', body: { dismiss: { ids: ['dismissed'] } } }),
        );
        const due = (await engine().claimDueReminders('w', s(1100), 1000, 1000)).filter((r) => r.uid === uid);
        expect(due.map((r) => r.item.id)).toEqual(['kept']);
      });
    });

    describe('compaction', () => {
      async function history(uid: string) {
        clock.now = s(10_000);
        const msgs = [
          wire(uid, s(1000), {
            id: 'c1',
            system: 'gregor',
            body: { create: { a: item('c', 1000), b: item('c', 1000), p: item('p', 1000) } },
          }),
          wire(uid, s(1100), {
            id: 'c2',
            system: 'gregor',
            body: { create: { e: { category: 'c', times: { expires: '+1m' } } } },
          }),
          wire(uid, s(2000), { id: 'd1', system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
          wire(uid, s(2100), {
            id: 'd2',
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'p', end: 1500 }], for_device: 'phone' } },
          }),
          wire(uid, s(6000), { id: 'c3', system: 'gregor', body: { create: { late: item('c', 6000) } } }),
        ];
        for (const m of msgs) await engine().consumeMessage(m);
        return msgs;
      }

      it('changes no visible state at or after the cutoff, on any device', async () => {
        const uid = freshUid();
        await history(uid);
        const views = async () =>
          Promise.all(
            [null, 'phone', 'laptop'].flatMap((d) => [
              engine().state(uid, d),
              engine().state(uid, d, { time: s(5000) }),
            ]),
          );
        const before = (await views()).map((v) => v.hash);
        const report = await engine().compact(s(5000), uid);
        expect(report).toMatchObject({ cutoff: s(5000), messages: 4, items: 2, intervals: 1 });
        expect((await views()).map((v) => v.hash)).toEqual(before);
      });

      it('refuses creations older than the horizon, so a late replay cannot resurrect an item', async () => {
        const uid = freshUid();
        const msgs = await history(uid);
        await engine().compact(s(5000), uid);
        await expectCode(engine().consumeMessage(msgs[0]!), 'GREGOR_ERR_MESSAGE_TOO_OLD');
        const replay = wire(uid, s(9000), { system: 'gregor', body: { create: { a: { category: 'c' } } } });
        await engine().consumeMessage(replay);
        expect((await engine().state(uid)).items.map((i) => i.id).sort()).toEqual(['b', 'late', 'p']);
      });

      it('refuses questions about history before the horizon, and truncates old cursors', async () => {
        const uid = freshUid();
        await history(uid);
        await engine().compact(s(5000), uid);
        await expectCode(engine().state(uid, null, { time: s(4000) }), 'GREGOR_ERR_HISTORY_COMPACTED');
        await expectCode(
          engine().inBandMessagesSince(uid, null, { time: s(4000) }),
          'GREGOR_ERR_HISTORY_COMPACTED',
        );
        const after = await engine().messagesAfter(uid, null, 0);
        expect(after.truncated).toBe(true);
        expect(after.messages.map((m) => m.message.md.msgId)).toEqual(['c3']);
        expect((await engine().messagesAfter(uid, null, 4)).truncated).toBe(false);
      });
    });

    describe('limits', () => {
      it('a message that would take a user over the interval tombstone cap is refused with GREGOR_ERR_TOO_MANY_TOMBSTONES and changes nothing', async () => {
        const uid = freshUid();
        clock.now = s(30_000);
        const per = LIMITS.maxDismissIntervals;
        const full = LIMITS.maxIntervalTombstonesPerUser / per;
        // Interval k*per+j covers created time 1 + k*per + j (seconds): [that, that + 0.5].
        const intervals = (k: number, count: number = per) =>
          Array.from({ length: count }, (_, j) => ({
            category: 'c',
            begin: 1 + k * per + j,
            end: 1.5 + k * per + j,
          }));
        await engine().consumeMessage(
          wire(uid, s(20_000), {
            id: 'items',
            system: 'gregor',
            body: { create: { kept: item('c', 20_000), hidden: item('c', 1) } },
          }),
        );
        // Up to the cap exactly, in one burst (engines with group commit write it in a few transactions).
        const filled = await Promise.all(
          Array.from({ length: full }, (_, k) =>
            engine().consumeMessage(
              wire(uid, s(20_001 + k), {
                id: `d${k}`,
                system: 'gregor',
                body: { dismiss: { intervals: intervals(k) } },
              }),
            ),
          ),
        );
        expect(filled.every((r) => r.status === 'stored')).toBe(true);
        const before = await engine().state(uid);
        expect(before.items.map((i) => i.id)).toEqual(['kept']);
        const phoneBefore = await engine().state(uid, 'phone');

        const over = wire(uid, s(25_000), {
          id: 'over',
          system: 'gregor',
          body: {
            create: { fresh: item('c', 20_000) },
            dismiss: { ids: ['kept'], intervals: [...intervals(0, 1), { category: 'other', end: 5 }] },
          },
        });
        await expectCode(engine().consumeMessage(over), 'GREGOR_ERR_TOO_MANY_TOMBSTONES');
        // A per-device interval is a tombstone too.
        const perDevice = wire(uid, s(25_001), {
          id: 'per-device',
          system: 'gregor',
          body: { dismiss: { intervals: intervals(0, 1), for_device: 'phone' } },
        });
        await expectCode(engine().consumeMessage(perDevice), 'GREGOR_ERR_TOO_MANY_TOMBSTONES');
        const after = await engine().state(uid);
        expect([after.seq, after.hash]).toEqual([before.seq, before.hash]);
        expect((await engine().messagesAfter(uid, null, before.seq)).messages).toEqual([]);
        expect((await engine().state(uid, 'phone')).hash).toBe(phoneBefore.hash);

        // Intervals the user already keeps do not count again, and dismissals by ID still work.
        const again = await engine().consumeMessage(
          wire(uid, s(26_000), {
            id: 'again',
            system: 'gregor',
            body: {
              create: { fresh: item('c', 20_000) },
              dismiss: { ids: ['kept'], intervals: intervals(3, 2) },
            },
          }),
        );
        expect(again.status).toBe('stored');
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['fresh']);
        // Compaction removes intervals that ended before its cutoff, which makes room again.
        await engine().compact(s(15_000), uid);
        const room = await engine().consumeMessage(
          wire(uid, s(27_000), {
            id: 'room',
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'c', end: 10 }] } },
          }),
        );
        expect(room.status).toBe('stored');
      });

      it('interval dismissals for more device scopes than the limit are refused with GREGOR_ERR_TOO_MANY_TOMBSTONES and change nothing; a scope already used, and global dismissals, are still accepted', async () => {
        const uid = freshUid();
        clock.now = s(30_000);
        const limit = LIMITS.maxIntervalScopesPerUser;
        const onDevice = (id: string, at: number, device: string) =>
          wire(uid, s(at), {
            id,
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'c', end: 2 }], for_device: device } },
          });
        await engine().consumeMessage(
          wire(uid, s(20_000), {
            id: 'items',
            system: 'gregor',
            body: { create: { old: item('c', 1), kept: item('c', 20_000) } },
          }),
        );
        // One interval on each of `limit` devices, in one burst (group commit writes several per transaction).
        const filled = await Promise.all(
          Array.from({ length: limit }, (_, k) =>
            engine().consumeMessage(onDevice(`d${k}`, 20_001 + k, `dev${k}`)),
          ),
        );
        expect(filled.every((r) => r.status === 'stored')).toBe(true);
        const before = await engine().state(uid);
        expect(before.items.map((i) => i.id)).toEqual(['kept', 'old']);
        expect((await engine().state(uid, 'dev0')).items.map((i) => i.id)).toEqual(['kept']);
        const newBefore = await engine().state(uid, 'new');

        // One device more is refused as a whole: its create and its dismissal by ID too.
        const over = wire(uid, s(25_000), {
          id: 'over',
          system: 'gregor',
          body: {
            create: { fresh: item('c', 20_000) },
            dismiss: { ids: ['kept'], intervals: [{ category: 'c', end: 2 }], for_device: 'new' },
          },
        });
        const error = await engine()
          .consumeMessage(over)
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(GregorError);
        expect((error as GregorError).code).toBe('GREGOR_ERR_TOO_MANY_TOMBSTONES');
        expect((error as GregorError).message).toContain(`${limit} devices`);
        const after = await engine().state(uid);
        expect([after.seq, after.hash]).toEqual([before.seq, before.hash]);
        expect((await engine().messagesAfter(uid, null, before.seq)).messages).toEqual([]);
        expect((await engine().state(uid, 'new')).hash).toBe(newBefore.hash);

        // A device that holds intervals already may add more, and global intervals are not counted.
        const again = await engine().consumeMessage(
          wire(uid, s(26_000), {
            id: 'again',
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'other', begin: 5, end: 6 }], for_device: 'dev0' } },
          }),
        );
        expect(again.status).toBe('stored');
        const global = await engine().consumeMessage(
          wire(uid, s(26_001), {
            id: 'global',
            system: 'gregor',
            body: { dismiss: { intervals: [{ category: 'c', end: 2 }] } },
          }),
        );
        expect(global.status).toBe('stored');
        expect((await engine().state(uid)).items.map((i) => i.id)).toEqual(['kept']);
        // A dismissal by ID on a new device is no interval: accepted.
        const byId = await engine().consumeMessage(
          wire(uid, s(26_002), {
            id: 'by-id',
            system: 'gregor',
            body: { dismiss: { ids: ['kept'], for_device: 'new' } },
          }),
        );
        expect(byId.status).toBe('stored');
        expect((await engine().state(uid, 'new')).items).toEqual([]);
        await expectCode(
          engine().consumeMessage(onDevice('still-over', 26_003, 'new')),
          'GREGOR_ERR_TOO_MANY_TOMBSTONES',
        );

        // Compaction removes intervals that ended before its cutoff, which frees their devices.
        await engine().compact(s(15_000), uid);
        const room = await engine().consumeMessage(onDevice('room', 27_000, 'new'));
        expect(room.status).toBe('stored');
      });
    });

    describe('lifecycle', () => {
      it('keeps what it acknowledged across a reopen', async () => {
        const harness = get();
        if (!harness.reopen) return;
        const uid = freshUid();
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: item('c', 1000) } } }),
        );
        const before = await engine().state(uid);
        harness.engine = await harness.reopen();
        expect(await engine().state(uid)).toEqual(before);
      });

      it('tricky but legal Unicode is stored byte for byte: the same items and state hash after a reopen', async () => {
        const uid = freshUid();
        const text = 'emoji 😀 e\u0301 \ufffd \u2028 \u2029 \u{10ffff} end';
        const body = { [text]: [text, { k: text }], plain: text };
        await engine().consumeMessage(
          wire(uid, s(1000), { system: 'gregor', body: { create: { a: { category: text, body } } } }),
        );
        const before = await engine().state(uid);
        expect(before.items.map((i) => [i.category, i.body])).toEqual([[text, body]]);
        expect(before.hash).toBe(stateHash(before.items.map(itemDigest)));
        const log = (await engine().messagesAfter(uid, null, 0)).messages;
        const harness = get();
        if (harness.reopen) harness.engine = await harness.reopen();
        const after = await engine().state(uid);
        expect(after.items).toEqual(before.items);
        expect(after.hash).toBe(before.hash);
        expect(after.hash).toBe(stateHash(after.items.map(itemDigest)));
        expect((await engine().messagesAfter(uid, null, 0)).messages).toEqual(log);
      });

      it('an item __proto__ with a body key __proto__ is stored, listed and hashed like any other, also after a reopen', async () => {
        const uid = freshUid();
        // JSON text: in an object literal `__proto__:` would set the prototype, not a key.
        const message = JSON.parse(
          '{"system":"gregor","body":{"create":{"__proto__":{"category":"c","body":{"__proto__":{"x":1}}}}}}',
        ) as unknown;
        await engine().consumeMessage(wire(uid, s(1000), message));
        const blobText =
          '{"__proto__":{"times":{"created":1000,"expires":null,"remind_at":[]},"for_device":null,"category":"c","body":{"__proto__":{"x":1}}}}';
        expect(JSON.stringify(stateBlob((await engine().state(uid)).items))).toBe(blobText);
        const harness = get();
        if (harness.reopen) harness.engine = await harness.reopen();
        const state = await engine().state(uid);
        expect(JSON.stringify(stateBlob(state.items))).toBe(blobText);
        expect(state.hash).toBe(stateHash(state.items.map(itemDigest)));
        const [logged] = (await engine().messagesAfter(uid, null, 0)).messages;
        expect(logged?.message.kind === 'update' && logged.message.create.map((i) => i.id)).toEqual([
          '__proto__',
        ]);
      });
    });
  });
}

/** Close semantics need their own engine: closing the suite's engine would end the suite. */
export function describeEngineClose(name: string, factory: EngineFactory): void {
  describe(`${name} engine lifecycle`, () => {
    it('closing twice is safe, and calls after close fail with GREGOR_ERR_CLOSED', async () => {
      const harness = await factory({ now: () => s(1000) });
      try {
        await harness.engine.close();
        await harness.engine.close();
        await expectCode(harness.engine.state('u'), 'GREGOR_ERR_CLOSED');
        await expectCode(
          harness.engine.consumeMessage(
            wire('u', s(1), { system: 'gregor', body: { dismiss: { ids: ['a'] } } }),
          ),
          'GREGOR_ERR_CLOSED',
        );
      } finally {
        await harness.cleanup();
      }
    });
  });
}
