import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { messageToWire } from '../../src/protocol/message.js';
import { parseMessage, parseMessageText } from '../../src/protocol/validate.js';
import { messageSpec, toMessages } from '../conformance/arbitraries.js';
import {
  SEED_FAVORITES,
  SEED_FLUSH,
  SEED_JOIN_CREATE,
  SEED_JOIN_DISMISS,
  SEED_TYPICAL_CREATE,
} from '../conformance/fixtures.js';

const ctx = { uid: 'alice', now: 1_700_000_000_000 };

function rejection(input: unknown, context: Parameters<typeof parseMessage>[1] = ctx): GregorError {
  try {
    parseMessage(input, context);
  } catch (e) {
    if (e instanceof GregorError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const create = (item: unknown) => ({ system: 'gregor', body: { create: { a1: item } } });

describe('the wire format of seed 002', () => {
  it('accepts every example of the seed verbatim', () => {
    for (const example of [
      SEED_JOIN_CREATE,
      SEED_JOIN_DISMISS,
      SEED_TYPICAL_CREATE,
      SEED_FAVORITES,
      SEED_FLUSH,
    ]) {
      expect(() => parseMessage(example, ctx)).not.toThrow();
    }
  });

  it('reads numbers as Unix seconds and keeps millisecond precision', () => {
    const m = parseMessage(create({ category: 'c', times: { created: 1457056447.123 } }), ctx);
    expect(m.kind === 'update' && m.create[0]!.created).toBe(1457056447123);
  });

  it('reads ISO 8601 times with a zone, and offsets relative to the message ctime', () => {
    const m = parseMessage(
      create({
        category: 'c',
        times: { created: '2023-01-01T00:00:00Z', expires: '+1h', remind_at: ['+90s', '-1m'] },
      }),
      ctx,
    );
    const item = m.kind === 'update' ? m.create[0]! : null;
    expect(item?.created).toBe(Date.parse('2023-01-01T00:00:00Z'));
    expect(item?.expires).toBe(ctx.now + 3_600_000);
    expect(item?.remindAt).toEqual([ctx.now - 60_000, ctx.now + 90_000]);
  });

  it('defaults created to the message ctime, and an interval end to it too', () => {
    const m = parseMessage(
      {
        system: 'gregor',
        body: { create: { a: { category: 'c' } }, dismiss: { intervals: [{ category: 'c' }] } },
      },
      ctx,
    );
    expect(m.kind === 'update' && [m.create[0]!.created, m.dismiss!.intervals[0]!.end]).toEqual([
      ctx.now,
      ctx.now,
    ]);
  });

  it('derives the message ID from the content when none is given, and keeps a given one', () => {
    const a = parseMessage(SEED_JOIN_DISMISS, ctx);
    const b = parseMessage(SEED_JOIN_DISMISS, { ...ctx, now: ctx.now + 5 });
    const c = parseMessage({ system: 'gregor', body: { dismiss: { ids: ['other'] } } }, ctx);
    expect(a.md.msgId).toBe(b.md.msgId);
    expect(a.md.msgId).not.toBe(c.md.msgId);
    expect(parseMessage({ ...SEED_JOIN_DISMISS, id: 'client-42' }, ctx).md.msgId).toBe('client-42');
  });

  it('round-trips: what the server sends parses back to the same message', () => {
    fc.assert(
      fc.property(fc.array(messageSpec, { minLength: 1, maxLength: 5 }), (specs) => {
        for (const m of toMessages('alice', specs)) {
          const again = parseMessage(JSON.parse(JSON.stringify(messageToWire(m))), {
            uid: 'alice',
            now: 0,
            trustCtime: true,
          });
          expect(again).toEqual(m);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('invalid messages are rejected with a stable code and the offending field', () => {
  const cases: [string, unknown, string, string][] = [
    ['not an object', 'hello', 'GREGOR_ERR_INVALID_MESSAGE', 'message: expected an object'],
    [
      'an unknown field',
      { ...SEED_FLUSH, extra: 1 },
      'GREGOR_ERR_INVALID_MESSAGE',
      'message.extra: is not a known field',
    ],
    ['a missing system', { body: {} }, 'GREGOR_ERR_INVALID_MESSAGE', 'system: expected a non-empty string'],
    ['a bad system name', { system: '../x', body: {} }, 'GREGOR_ERR_INVALID_MESSAGE', 'system: must start'],
    [
      'an empty update',
      { system: 'gregor', body: { dismiss: {} } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body: a gregor message needs',
    ],
    [
      'flush other than true',
      { system: 'gregor', body: { flush: 1 } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.flush: must be true',
    ],
    [
      'flush with a create',
      { system: 'gregor', body: { flush: true, create: {} } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.flush: stands alone',
    ],
    [
      'an item without category',
      create({ times: {} }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.create.a1.category',
    ],
    [
      'a misspelt item field',
      create({ category: 'c', forDevice: 'x' }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.create.a1.forDevice',
    ],
    [
      'a bad item ID',
      { system: 'gregor', body: { create: { 'a b': { category: 'c' } } } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.create.a b: may use only',
    ],
    [
      'a time that is no time',
      create({ category: 'c', times: { expires: 'tomorrow' } }),
      'GREGOR_ERR_INVALID_TIME',
      'body.create.a1.times.expires',
    ],
    [
      'a negative time',
      create({ category: 'c', times: { created: -1 } }),
      'GREGOR_ERR_INVALID_TIME',
      'body.create.a1.times.created',
    ],
    [
      'a time without a zone',
      create({ category: 'c', times: { created: '2026-01-01T00:00:00' } }),
      'GREGOR_ERR_INVALID_TIME',
      'times.created',
    ],
    [
      'an expiry before creation',
      create({ category: 'c', times: { created: 10, expires: 5 } }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'times.expires: must be after',
    ],
    [
      'remind_at not a list',
      create({ category: 'c', times: { remind_at: 5 } }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'times.remind_at: expected an array',
    ],
    [
      'ids not a list',
      { system: 'gregor', body: { dismiss: { ids: 'a' } } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.dismiss.ids: expected an array',
    ],
    [
      'an empty ID',
      { system: 'gregor', body: { dismiss: { ids: [''] } } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.dismiss.ids[0]',
    ],
    [
      'an interval that ends before it begins',
      { system: 'gregor', body: { dismiss: { intervals: [{ category: 'c', begin: 10, end: 5 }] } } },
      'GREGOR_ERR_INVALID_MESSAGE',
      'body.dismiss.intervals[0].begin',
    ],
    [
      'a ctime from a client',
      { ...SEED_FLUSH, ctime: 5 },
      'GREGOR_ERR_INVALID_MESSAGE',
      'ctime: is set by the server',
    ],
    [
      'too many reminders',
      create({ category: 'c', times: { remind_at: Array.from({ length: 33 }, (_, i) => i) } }),
      'GREGOR_ERR_TOO_LARGE',
      'times.remind_at',
    ],
    [
      'a body too large',
      create({ category: 'c', body: 'x'.repeat(LIMITS.maxBodyBytes) }),
      'GREGOR_ERR_TOO_LARGE',
      'body.create.a1.body',
    ],
    [
      'a body nested too deep',
      create({ category: 'c', body: JSON.parse('['.repeat(40) + ']'.repeat(40)) }),
      'GREGOR_ERR_TOO_LARGE',
      'nested deeper',
    ],
    [
      'a body that is not JSON',
      create({ category: 'c', body: { n: Number.NaN } }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'numbers must be finite',
    ],
    [
      'a body with a Date',
      create({ category: 'c', body: new Date() }),
      'GREGOR_ERR_INVALID_MESSAGE',
      'expected JSON',
    ],
  ];

  for (const [name, input, code, text] of cases) {
    it(`${name} → ${code}`, () => {
      const e = rejection(input);
      expect(e.code).toBe(code);
      expect(e.message).toContain(text);
      expect(e.toJSON()).toEqual({ code, message: e.message });
    });
  }

  it('text that is not JSON → GREGOR_ERR_BAD_JSON; text over the limit → GREGOR_ERR_TOO_LARGE', () => {
    expect(() => parseMessageText('{"system":', ctx)).toThrow(
      expect.objectContaining({ code: 'GREGOR_ERR_BAD_JSON' }),
    );
    expect(() => parseMessageText(' '.repeat(LIMITS.maxMessageBytes + 1), ctx)).toThrow(
      expect.objectContaining({ code: 'GREGOR_ERR_TOO_LARGE' }),
    );
  });

  it('random input never escapes as anything but a coded GregorError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ system: fc.constantFrom('gregor', 'x'), body: fc.anything() }),
          fc.record({
            system: fc.constant('gregor'),
            body: fc.record(
              { create: fc.dictionary(fc.string(), fc.anything()), dismiss: fc.anything() },
              { requiredKeys: [] },
            ),
          }),
        ),
        (input) => {
          try {
            parseMessage(input, ctx);
          } catch (e) {
            expect(e).toBeInstanceOf(GregorError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
