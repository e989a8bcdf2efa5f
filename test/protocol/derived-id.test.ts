import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/validate.js';

const at = (now: number) => ({ uid: 'alice', now });
const T = 1_700_000_000_000;

/** The README's example, as the CLI sends it. */
const README_EXAMPLE = {
  system: 'gregor',
  body: { create: { hello: { category: 'greeting', body: 'Hi' } } },
};

describe('a message without an id gets an ID derived from the message as sent', () => {
  it("an exact resend of the README's example gets the same ID later, though its created time defaults to each ctime", () => {
    const first = parseMessage(README_EXAMPLE, at(T));
    const resent = parseMessage(JSON.parse(JSON.stringify(README_EXAMPLE)), at(T + 60_000));
    expect(first.kind === 'update' && first.create[0]!.created).toBe(T);
    expect(resent.kind === 'update' && resent.create[0]!.created).toBe(T + 60_000);
    expect(resent.md.msgId).toBe(first.md.msgId);
    expect(first.md.msgId).toMatch(/^h[0-9a-f]{32}$/);
  });

  it('offsets and an interval end left to default do not change the ID of a resend', () => {
    const message = {
      system: 'gregor',
      body: {
        create: { a: { category: 'c', times: { expires: '+1h', remind_at: ['+5m'] } } },
        dismiss: { intervals: [{ category: 'old' }] },
      },
    };
    expect(parseMessage(message, at(T + 1)).md.msgId).toBe(parseMessage(message, at(T)).md.msgId);
  });

  it('key order and whitespace do not matter; any other difference as sent is another message', () => {
    const a = parseMessage(
      JSON.parse('{"system":"gregor","body":{"create":{"x":{"category":"c","body":1}}}}'),
      at(T),
    );
    const b = parseMessage(
      JSON.parse('{ "body": { "create": { "x": { "body": 1, "category": "c" } } }, "system": "gregor" }'),
      at(T),
    );
    expect(b.md.msgId).toBe(a.md.msgId);
    const differs = [
      { system: 'gregor', body: { create: { x: { category: 'c', body: 2 } } } },
      { system: 'gregor', body: { create: { x: { category: 'c', body: 1, for_device: null } } } },
      { system: 'gregor', body: { create: { x: { category: 'c', body: 1, times: { created: T / 1000 } } } } },
    ].map((m) => parseMessage(m, at(T)).md.msgId);
    expect(new Set([a.md.msgId, ...differs]).size).toBe(4);
  });

  it('a flush without an id is a new message every time; with an id, a resend is a no-op', () => {
    const flush = { system: 'gregor', body: { flush: true } };
    expect(parseMessage(flush, at(T + 1)).md.msgId).not.toBe(parseMessage(flush, at(T)).md.msgId);
    const withId = { ...flush, id: 'flush-1' };
    expect(parseMessage(withId, at(T + 1)).md.msgId).toBe('flush-1');
  });

  it('an out-of-band message gets its ID from its system and body as sent', () => {
    const oob = { system: 'kbfs.favorites', body: { action: 'delete', tlf: '/private/alice,max' } };
    const id = parseMessage(oob, at(T)).md.msgId;
    expect(parseMessage(oob, at(T + 5)).md.msgId).toBe(id);
    expect(parseMessage({ ...oob, system: 'kbfs.other' }, at(T)).md.msgId).not.toBe(id);
  });

  it('a given id is kept as it is', () => {
    expect(parseMessage({ ...README_EXAMPLE, id: 'client-42' }, at(T)).md.msgId).toBe('client-42');
  });
});
