import { describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import { itemDigest } from '../../src/protocol/hash.js';
import { messageToWire } from '../../src/protocol/message.js';
import { parseMessage } from '../../src/protocol/validate.js';

const ctx = { uid: 'alice', now: 1_700_000_000_000 };

function refusal(input: unknown): GregorError {
  try {
    parseMessage(input, ctx);
  } catch (e) {
    if (e instanceof GregorError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const LONE = '\ud800';
/** Legal, and easy to get wrong: an astral emoji, a combining accent, U+FFFD itself, line and paragraph separators. */
const TRICKY = 'emoji 😀 e\u0301 \ufffd \u2028 \u2029 \u{10ffff} end';

const create = (item: Record<string, unknown>) => ({
  system: 'gregor',
  body: { create: { a1: { category: 'c', ...item } } },
});

describe('text that no engine can store as sent is refused at validation', () => {
  const cases: [string, unknown, string][] = [
    ['in a category', create({ category: `x${LONE}` }), 'body.create.a1.category'],
    ['at the end of a category', create({ category: `x\udbff` }), 'body.create.a1.category'],
    ['a low surrogate alone', create({ category: '\udc00x' }), 'body.create.a1.category'],
    ['in a body string', create({ body: { text: `hi ${LONE}` } }), 'body.create.a1.body.text'],
    ['in a body array', create({ body: ['ok', `${LONE}`] }), 'body.create.a1.body[1]'],
    ['in a body key', create({ body: { [`k${LONE}`]: 1 } }), 'body.create.a1.body: key'],
    ['in a body that is a string', create({ body: LONE }), 'body.create.a1.body'],
    [
      'in an interval category',
      { system: 'gregor', body: { dismiss: { intervals: [{ category: LONE }] } } },
      'body.dismiss.intervals[0].category',
    ],
    ['in an out-of-band body', { system: 'kbfs.favorites', body: { tlf: LONE } }, 'body.tlf'],
    ['in an out-of-band body key', { system: 'kbfs.favorites', body: { [LONE]: 1 } }, 'body: key'],
  ];
  for (const [where, input, field] of cases) {
    it(`a lone UTF-16 surrogate ${where} is refused with GREGOR_ERR_INVALID_MESSAGE naming ${field}`, () => {
      const e = refusal(input);
      expect(e.code).toBe('GREGOR_ERR_INVALID_MESSAGE');
      expect(e.message).toContain(field);
      expect(e.message).toContain('well-formed Unicode');
    });
  }

  it('a NUL or another control character in a category (item or interval) is refused naming the field; in a body it is JSON text and allowed', () => {
    for (const category of ['a\u0000b', '\u0001', 'tab\there', 'line\nfeed', 'del\u007f', '\u0085']) {
      const e = refusal(create({ category }));
      expect(e.code).toBe('GREGOR_ERR_INVALID_MESSAGE');
      expect(e.message).toContain('body.create.a1.category: may not contain control characters');
      const i = refusal({ system: 'gregor', body: { dismiss: { intervals: [{ category }] } } });
      expect(i.message).toContain('body.dismiss.intervals[0].category');
    }
    const m = parseMessage(create({ body: { nul: 'a\u0000b', tab: '\t' } }), ctx);
    expect(m.kind === 'update' && m.create[0]!.body).toEqual({ nul: 'a\u0000b', tab: '\t' });
  });

  it('well-formed tricky Unicode (astral, combining, U+FFFD, U+2028) is accepted unchanged, and its wire form hashes the same', () => {
    const m = parseMessage(create({ category: TRICKY, body: { [TRICKY]: [TRICKY, { k: TRICKY }] } }), ctx);
    expect(m.kind).toBe('update');
    if (m.kind !== 'update') return;
    const item = m.create[0]!;
    expect(item.category).toBe(TRICKY);
    expect(item.body).toEqual({ [TRICKY]: [TRICKY, { k: TRICKY }] });
    const again = parseMessage(JSON.parse(JSON.stringify(messageToWire(m))), { ...ctx, trustCtime: true });
    expect(again.kind === 'update' && itemDigest(again.create[0]!)).toEqual(itemDigest(item));
  });
});
