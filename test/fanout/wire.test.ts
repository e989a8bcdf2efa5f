import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsumeResult, Reminder } from '../../src/core/state-machine.js';
import { itemDigest } from '../../src/protocol/hash.js';
import type { Message } from '../../src/protocol/message.js';
import type { Publication } from '../../src/server/fanout/fan-out.js';
import {
  decodeFrame,
  encodePresence,
  encodePublication,
  encodeResync,
  WIRE_VERSION,
} from '../../src/server/fanout/wire.js';
import { messageSpec, toMessages } from '../conformance/arbitraries.js';
import { wire } from '../conformance/fixtures.js';

/** Collects warnings: a refused frame must say why. */
function recorder() {
  const warnings: string[] = [];
  return { warnings, log: { warn: (_o: object, msg: string) => warnings.push(msg), info() {} } };
}

const uid = fc.stringMatching(/^[A-Za-z0-9._:~-]{1,20}$/);
const device = fc.option(fc.constantFrom('d1', 'phone.2', 'lap:top'), { nil: null });
const result = fc.record({
  status: fc.constantFrom('stored', 'duplicate', 'relayed') as fc.Arbitrary<ConsumeResult['status']>,
  seq: fc.option(fc.nat(), { nil: null }),
  dead: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.subarray(['', 'd1', 'd2'])), { maxLength: 3 }),
});

function roundTrip(p: Publication): Publication | null {
  const { log, warnings } = recorder();
  const frame = decodeFrame(encodePublication('node-a', p), log);
  expect(warnings).toEqual([]);
  expect(frame?.node).toBe('node-a');
  return frame?.kind === 'publication' ? frame.publication : null;
}

describe('inter-node wire format', () => {
  it('a consumed message round-trips to a deep-equal publication', () => {
    fc.assert(
      fc.property(uid, device, messageSpec, result, (u, d, spec, r) => {
        const [parsed] = toMessages(u, [spec]);
        const message = { ...parsed!, md: { ...parsed!.md, device: d } } as Message;
        const p: Publication = {
          kind: 'message',
          message,
          result: { status: r.status, seq: r.seq, deadOnArrival: new Map(r.dead) },
        };
        expect(roundTrip(p)).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  it('an out-of-band message round-trips, its ctime to the millisecond', () => {
    fc.assert(
      fc.property(uid, fc.jsonValue({ maxDepth: 3 }), fc.integer({ min: 0, max: 4e12 }), (u, body, ctime) => {
        // -0 has no JSON form: a body is JSON, so it never holds one after parsing.
        const json = JSON.parse(JSON.stringify(body ?? null));
        const message = wire(u, ctime, { id: 'm1', system: 'kbfs.favorites', body: json }, 'd1');
        const p: Publication = {
          kind: 'message',
          message,
          result: { status: 'relayed', seq: null, deadOnArrival: new Map() },
        };
        expect(roundTrip(p)).toEqual(p);
      }),
      { numRuns: 200 },
    );
  });

  it('a due reminder round-trips with its digest computed again', () => {
    fc.assert(
      fc.property(uid, messageSpec, fc.integer({ min: 0, max: 4e12 }), (u, spec, remindAt) => {
        const [m] = toMessages(u, [spec]);
        if (m?.kind !== 'update') return;
        for (const item of m.create) {
          const reminder: Reminder = {
            uid: u,
            remindAt,
            item: { ...item, msgId: m.md.msgId, ctime: m.md.ctime, digest: itemDigest(item) },
          };
          expect(roundTrip({ kind: 'reminder', reminder })).toEqual({ kind: 'reminder', reminder });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('resync and presence frames round-trip', () => {
    const { log } = recorder();
    expect(decodeFrame(encodeResync('n', ['alice', 'bob.b']), log)).toEqual({
      node: 'n',
      kind: 'resync',
      uids: ['alice', 'bob.b'],
    });
    expect(decodeFrame(encodePresence('n', 'alice'), log)).toEqual({
      node: 'n',
      kind: 'presence',
      uid: 'alice',
    });
  });

  it('refuses other versions, unknown kinds and invalid content with a warning, never a throw', () => {
    const good = JSON.parse(encodeResync('n', ['alice'])) as Record<string, unknown>;
    expect(good.v).toBe(WIRE_VERSION);
    const cases: [string, RegExp][] = [
      [JSON.stringify({ ...good, v: 2 }), /wire version 2 ignored: this node speaks version 1/],
      [JSON.stringify({ ...good, v: undefined }), /wire version undefined ignored/],
      [JSON.stringify({ ...good, kind: 'gossip' }), /invalid frame/],
      [JSON.stringify({ ...good, uids: ['bad uid'] }), /invalid frame/],
      [JSON.stringify({ ...good, node: '' }), /invalid frame/],
      [
        '{"v":1,"node":"n","kind":"message","uid":"a","device":null,"message":{"system":"gregor"}}',
        /invalid frame/,
      ],
      ['not json', /not JSON/],
      ['[1]', /not an object/],
      ['null', /not an object/],
    ];
    for (const [text, warning] of cases) {
      const { log, warnings } = recorder();
      expect(decodeFrame(text, log)).toBeNull();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(warning);
    }
  });

  it('refuses a message without its id or ctime rather than filling them in', () => {
    const message = wire('alice', 5_000, { id: 'm1', system: 'gregor', body: { flush: true } });
    const frame = JSON.parse(
      encodePublication('n', {
        kind: 'message',
        message,
        result: { status: 'stored', seq: 1, deadOnArrival: new Map() },
      }),
    ) as { message: Record<string, unknown> };
    for (const field of ['id', 'ctime']) {
      const { log, warnings } = recorder();
      const { [field]: _, ...rest } = frame.message;
      expect(decodeFrame(JSON.stringify({ ...frame, message: rest }), log)).toBeNull();
      expect(warnings[0]).toMatch(/invalid frame/);
    }
  });
});
