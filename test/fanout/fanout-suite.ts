import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumeResult, Reminder } from '../../src/core/state-machine.js';
import { itemDigest } from '../../src/protocol/hash.js';
import type { Message } from '../../src/protocol/message.js';
import type { FanOut, FanOutLog, Publication } from '../../src/server/fanout/fan-out.js';
import { wire } from '../conformance/fixtures.js';
import { TcpProxy } from './tcp-proxy.js';

/** A fan-out backend under test: how to open one node of a fleet on it, and what it promises. */
export interface FanOutBackend {
  /**
   * Opens node `nodeId`. Every node of one test gets the same `namespace` (a fresh token of
   * letters and digits): the backend puts it in its channel prefix, so tests never hear each other.
   */
  open(nodeId: string, namespace: string, log: FanOutLog): FanOut;
  /** publish resolves the exact number of receivers (NATS resolves 1 for "at least one"). */
  readonly exactCount: boolean;
  /** A networked backend's outage, for the fault tests: every node loses the server until `up`. */
  readonly outage?: { down(): Promise<void>; up(): Promise<void> };
  /** Opens a node that reaches the server through a TCP proxy on `port`: a partition of that node alone. */
  readonly partition?: {
    target(): { readonly host: string; readonly port: number };
    open(nodeId: string, namespace: string, log: FanOutLog, port: number): FanOut;
  };
}

/** Polls until `check` holds, or fails naming `what` (no sleeps standing in for conditions). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One node of a test fleet and everything it heard. */
class Node {
  readonly received: Publication[] = [];
  readonly resyncs: (readonly string[] | null)[] = [];
  readonly warnings: string[] = [];
  readonly fanOut: FanOut;

  constructor(open: (log: FanOutLog) => FanOut) {
    this.fanOut = open({ warn: (_o, msg) => this.warnings.push(msg), info() {} });
    this.fanOut.onRemote((p) => this.received.push(p));
    this.fanOut.onResync((uids) => this.resyncs.push(uids));
  }

  /** IDs of the messages received for `uid`, in order. */
  ids(uid: string): string[] {
    return this.received.flatMap((p) =>
      p.kind === 'message' && p.message.md.uid === uid ? [p.message.md.msgId] : [],
    );
  }

  /** Whether a resync of every user, or of `uid`, was asked for. */
  resynced(uid?: string): boolean {
    return this.resyncs.some((u) => (uid === undefined ? u === null : u?.includes(uid)));
  }
}

const STORED = (seq: number): ConsumeResult => ({
  status: 'stored',
  seq,
  deadOnArrival: new Map([['x', ['', 'phone']]]),
});

/** A stored message of `uid` numbered `n` (its ID is `m<n>`). */
function message(uid: string, n: number): Publication {
  const m: Message = wire(
    uid,
    1_700_000_000_000 + n,
    { id: `m${n}`, system: 'gregor', body: { create: { [`i${n}`]: { category: 'c', body: { n } } } } },
    'phone',
  );
  return { kind: 'message', message: m, result: STORED(n) };
}

/**
 * The FanOut contract, for one backend: delivery, never one's own, counts, presence, order,
 * reminders, health and close; then, for a backend with an outage, what happens around one.
 */
export function fanOutSuite(name: string, backend: () => FanOutBackend): void {
  describe(`fan-out contract: ${name}`, () => {
    const opened: FanOut[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((f) => f.close()));
    });

    /**
     * Nodes a, b, c… of a fresh fleet, all healthy. `open` may open some of them differently
     * (behind a proxy); by default each is the backend's ordinary node.
     */
    async function fleet(
      size: number,
      open: (nodeId: string, namespace: string, log: FanOutLog) => FanOut = (id, ns, log) =>
        backend().open(id, ns, log),
    ): Promise<Node[]> {
      const namespace = `t${randomBytes(5).toString('hex')}`;
      const nodes = Array.from({ length: size }, (_, i) => {
        const node = new Node((log) => open(`node-${String.fromCharCode(97 + i)}`, namespace, log));
        opened.push(node.fanOut);
        return node;
      });
      await until('every node is healthy', () => nodes.every((n) => n.fanOut.healthy));
      return nodes;
    }

    it('a subscribed node receives another node’s publication, equal to what was sent', async () => {
      const [a, b] = await fleet(2);
      await b!.fanOut.subscribe('alice');
      const p = message('alice', 1);
      await a!.fanOut.publish(p);
      await until('b receives it', () => b!.received.length === 1);
      expect(b!.received[0]).toEqual(p);
      expect(a!.received).toEqual([]);
    });

    it('a node never receives its own publications, even when subscribed', async () => {
      const [a, b] = await fleet(2);
      await a!.fanOut.subscribe('alice');
      await b!.fanOut.subscribe('alice');
      await a!.fanOut.publish(message('alice', 1));
      // On one channel, b's later publication reaches a after anything a was sent before it.
      await b!.fanOut.publish(message('alice', 2));
      await until('a receives b’s publication', () => a!.received.length > 0);
      expect(a!.ids('alice')).toEqual(['m2']);
      await until('b receives a’s publication', () => b!.received.length > 0);
      expect(b!.ids('alice')).toEqual(['m1']);
    });

    it('a node not subscribed (never, or no longer) receives nothing', async () => {
      const [a, b] = await fleet(2);
      await a!.fanOut.publish(message('alice', 1));
      await b!.fanOut.subscribe('alice');
      await b!.fanOut.unsubscribe('alice');
      await a!.fanOut.publish(message('alice', 2));
      await b!.fanOut.subscribe('alice');
      // From one publisher on one channel, m3 comes after m1 and m2 had they been delivered.
      await a!.fanOut.publish(message('alice', 3));
      await until('b receives m3', () => b!.received.length > 0);
      expect(b!.ids('alice')).toEqual(['m3']);
    });

    it('publish resolves how many other nodes received it', async () => {
      const [a, b, c] = await fleet(3);
      const exact = backend().exactCount;
      expect(await a!.fanOut.publish(message('alice', 1))).toBe(0);
      // Its own subscription does not count: NATS must answer "no responders" here (noEcho).
      await a!.fanOut.subscribe('alice');
      expect(await a!.fanOut.publish(message('alice', 2))).toBe(0);
      await b!.fanOut.subscribe('alice');
      expect(await a!.fanOut.publish(message('alice', 3))).toBe(1);
      await c!.fanOut.subscribe('alice');
      const two = await a!.fanOut.publish(message('alice', 4));
      if (exact) expect(two).toBe(2);
      else expect(two).toBeGreaterThanOrEqual(1);
      await b!.fanOut.unsubscribe('alice');
      await c!.fanOut.unsubscribe('alice');
      expect(await a!.fanOut.publish(message('alice', 5))).toBe(0);
    });

    it('present tells whether another node holds the user, never counting the asking node', async () => {
      const [a, b] = await fleet(2);
      expect(await a!.fanOut.present('alice')).toBe(false);
      await a!.fanOut.subscribe('alice');
      expect(await a!.fanOut.present('alice')).toBe(false);
      await b!.fanOut.subscribe('alice');
      expect(await a!.fanOut.present('alice')).toBe(true);
      expect(await b!.fanOut.present('alice')).toBe(true);
      await b!.fanOut.unsubscribe('alice');
      expect(await a!.fanOut.present('alice')).toBe(false);
      expect(await b!.fanOut.present('alice')).toBe(true);
      // A presence question is answered, never delivered.
      expect(a!.received).toEqual([]);
      expect(b!.received).toEqual([]);
    });

    it('keeps call order for 200 publications sent without awaiting between them', async () => {
      const [a, b] = await fleet(2);
      await b!.fanOut.subscribe('alice');
      const sent = Array.from({ length: 200 }, (_, i) => a!.fanOut.publish(message('alice', i)));
      const counts = await Promise.all(sent);
      expect(counts.every((n) => n === null || n === 1)).toBe(true);
      await until('b receives all 200', () => b!.received.length === 200, 30_000);
      expect(b!.ids('alice')).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    });

    it('users whose IDs hold "." and ":" are kept apart', async () => {
      const [a, b] = await fleet(2);
      await b!.fanOut.subscribe('a.b');
      await a!.fanOut.publish(message('a', 1));
      await a!.fanOut.publish(message('a.b.c', 2));
      await a!.fanOut.publish(message('a:b', 3));
      await a!.fanOut.publish(message('a.b', 4));
      await until('b receives a.b’s message', () => b!.received.length > 0);
      expect(b!.ids('a.b')).toEqual(['m4']);
      expect(b!.received).toHaveLength(1);
    });

    it('a due reminder round-trips', async () => {
      const [a, b] = await fleet(2);
      await b!.fanOut.subscribe('alice');
      const m = message('alice', 7);
      if (m.kind !== 'message' || m.message.kind !== 'update') throw new Error('not an update');
      const item = m.message.create[0]!;
      const reminder: Reminder = {
        uid: 'alice',
        remindAt: 1_700_000_100_000,
        item: { ...item, msgId: 'm7', ctime: m.message.md.ctime, digest: itemDigest(item) },
      };
      expect(await a!.fanOut.publish({ kind: 'reminder', reminder })).toBe(1);
      await until('b receives the reminder', () => b!.received.length === 1);
      expect(b!.received[0]).toEqual({ kind: 'reminder', reminder });
    });

    it('is healthy when connected; close is safe twice and publishing afterwards fails', async () => {
      const [a] = await fleet(1);
      expect(a!.fanOut.healthy).toBe(true);
      expect(typeof a!.fanOut.name).toBe('string');
      await a!.fanOut.close();
      await a!.fanOut.close();
      await expect(a!.fanOut.publish(message('alice', 1))).rejects.toThrow();
      expect(a!.warnings).toEqual([]);
    });

    // A backend with nothing to interrupt (memory) has no fault tests, rather than skipped ones.
    const partition = backend().partition;
    if (partition) {
      it('a partition of one node: it resyncs its devices; the others resync the users it could not publish for', async () => {
        const proxy = await TcpProxy.start(partition.target());
        try {
          const [a, b] = await fleet(2, (id, ns, log) =>
            id === 'node-a' ? partition.open(id, ns, log, proxy.port) : backend().open(id, ns, log),
          );
          await a!.fanOut.subscribe('alice');
          await b!.fanOut.subscribe('alice');
          await a!.fanOut.publish(message('alice', 1));
          await until('b receives m1', () => b!.received.length === 1);

          await proxy.cut();
          await until('a reports the partition', () => !a!.fanOut.healthy);
          expect(b!.fanOut.healthy).toBe(true);
          await expect(a!.fanOut.publish(message('alice', 2))).rejects.toThrow();
          // b's publication meanwhile cannot reach a: a's resync must cover it.
          await b!.fanOut.publish(message('alice', 3));

          await proxy.restore();
          await until('a is healthy again', () => a!.fanOut.healthy, 40_000);
          await until('a resyncs every local device', () => a!.resynced());
          await until('b is told to resync alice, whose publication a lost', () => b!.resynced('alice'));
          expect(b!.resynced()).toBe(false);
          expect(a!.ids('alice')).toEqual([]);

          await b!.fanOut.publish(message('alice', 4));
          await until('a receives m4', () => a!.received.length > 0);
          expect(a!.ids('alice')).toEqual(['m4']);
          expect(b!.ids('alice')).toEqual(['m1']);
        } finally {
          await proxy.close();
        }
      }, 120_000);
    }

    const outage = backend().outage;
    if (!outage) return;
    describe('an outage of the server', () => {
      it('health goes red while down; every device resyncs after; publishing while down fails', async () => {
        const [a, b] = await fleet(2);
        await a!.fanOut.subscribe('alice');
        await b!.fanOut.subscribe('alice');
        await a!.fanOut.publish(message('alice', 1));
        await until('b receives m1', () => b!.received.length === 1);

        await outage.down();
        await until('both nodes report the outage', () => !a!.fanOut.healthy && !b!.fanOut.healthy);
        expect(a!.resyncs).toEqual([]);
        await expect(a!.fanOut.publish(message('alice', 2))).rejects.toThrow();
        // Neither node is told to resync while the outage lasts: it would resync too early.
        expect([...a!.resyncs, ...b!.resyncs]).toEqual([]);

        await outage.up();
        await until('both nodes are healthy again', () => a!.fanOut.healthy && b!.fanOut.healthy, 40_000);
        // b resyncs every device, alice's with them: it was down too, so a's notice about alice may
        // have come before b was back (the partition test checks the notice itself).
        await until('both nodes resync every device', () => a!.resynced() && b!.resynced());
        expect(a!.resynced('alice')).toBe(false);

        await a!.fanOut.publish(message('alice', 3));
        await until('b receives m3', () => b!.ids('alice').includes('m3'));
        expect(b!.ids('alice')).toEqual(['m1', 'm3']);
      }, 120_000);

      it('mid-stream: every publication b misses is covered by a resync, and order holds', async () => {
        const [a, b] = await fleet(2);
        await b!.fanOut.subscribe('alice');
        const outcomes: Promise<'sent' | 'failed'>[] = [];
        let failed = 0;
        let n = 0;
        let running = true;
        const stream = (async () => {
          while (running) {
            n += 1;
            outcomes.push(
              a!.fanOut.publish(message('alice', n)).then(
                () => 'sent' as const,
                () => {
                  failed += 1;
                  return 'failed' as const;
                },
              ),
            );
            // Pacing, not waiting for a condition: a stream of a few hundred publications a second.
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        await until('b receives some', () => b!.received.length >= 20);
        await outage.down();
        await until('a reports the outage', () => !a!.fanOut.healthy);
        await until('a fails a publication', () => failed > 0);
        await outage.up();
        await until('a is healthy again', () => a!.fanOut.healthy && b!.fanOut.healthy, 40_000);
        const after = b!.received.length;
        await until('b receives publications again', () => b!.received.length >= after + 20);
        running = false;
        await stream;
        const results = await Promise.all(outcomes);
        await until('b receives the last one', () => b!.ids('alice').includes(`m${n}`));
        // b was down too: its resync of every device covers alice (a's notice may come before b is back).
        await until('b resyncs', () => b!.resynced());

        const got = b!.ids('alice').map((id) => Number(id.slice(1)));
        expect(got).toEqual([...got].sort((x, y) => x - y));
        const missed = results.flatMap((_r, i) => (got.includes(i + 1) ? [] : [i + 1]));
        expect(missed.length).toBeGreaterThan(0);
        expect(results.filter((r) => r === 'failed')).toHaveLength(failed);
      }, 120_000);
    });
  });
}
