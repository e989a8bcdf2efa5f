import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { id } from '../../src/protocol/validate.js';
import {
  fitsGregor,
  fromGregorUid,
  notifyIdOf,
  notifyUserId,
  rawMember,
  toGregorUid,
} from '../../src/server/notify/identity.js';

describe("Notify's user_id, read from the payload's own text", () => {
  const cases: [string, string][] = [
    ['"alice"', 'alice'],
    ['42', '42'],
    ['12345678901234567890', '12345678901234567890'],
    ['42.0', '42.0'],
    ['1e3', '1e3'],
    ['-0', '-0'],
    ['1.5', '1.5'],
    ['true', 'true'],
    ['null', 'null'],
    ['"a@b.com"', 'a@b.com'],
    ['"with space/and slash"', 'with space/and slash'],
    ['"Zoë 😀"', 'Zoë 😀'],
    ['"\\u00e9\\n"', 'é\n'],
    ['"\\ud800"', '\ufffd'],
    ['{"a": [1, "}"]}', '{"a": [1, "}"]}'],
  ];
  for (const [json, want] of cases) {
    it(`user_id ${json} → ${JSON.stringify(want)}`, () => {
      expect(notifyUserId(`{"exp":1, "user_id" : ${json} , "x":[{"user_id":"inner"}]}`)).toBe(want);
    });
  }

  it('no user_id gives undefined; an escaped key is the same key; the last duplicate wins', () => {
    expect(notifyUserId('{"sub":"x","nested":{"user_id":"no"}}')).toBeUndefined();
    expect(notifyUserId('{}')).toBeUndefined();
    expect(notifyUserId('{"user\\u005fid":7}')).toBe('7');
    expect(notifyUserId('{"user_id":1,"user_id":"two"}')).toBe('two');
  });

  it('matches JSON.parse on any object, whatever its spacing (fuzz)', () => {
    const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');
    const literal = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.constantFrom('12345678901234567890', '42.0', '1e3', '-1.5E-7', '0', 'true', 'false', 'null'),
    );
    const member = fc.tuple(
      fc.oneof(fc.string(), fc.constant('user_id'), fc.constant('user\\u005fid')),
      literal,
      space,
      space,
    );
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), space, (members, outer) => {
        const json = `${outer}{${members
          .map(
            ([k, v, a, b]) => `${a}${k === 'user\\u005fid' ? `"${k}"` : JSON.stringify(k)}${b}:${a}${v}${b}`,
          )
          .join(',')}}${outer}`;
        const parsed = JSON.parse(json) as Record<string, unknown>;
        const raw = rawMember(json, 'user_id');
        if (!Object.hasOwn(parsed, 'user_id')) {
          expect(raw).toBeUndefined();
          return;
        }
        expect(raw).toBeDefined();
        expect(JSON.parse(raw!)).toEqual(parsed.user_id);
        // The raw text is the last user_id member as written.
        const last = members.filter(([k]) => k === 'user_id' || k === 'user\\u005fid').at(-1)!;
        expect(raw).toBe(last[1]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Notify IDs in Gregor: a reversible encoding', () => {
  it('IDs that fit Gregor keep their keys; others become ~base64url', () => {
    expect(toGregorUid('42')).toBe('42');
    expect(toGregorUid('alice.b:c_d-e')).toBe('alice.b:c_d-e');
    expect(toGregorUid('12345678901234567890')).toBe('12345678901234567890');
    expect(toGregorUid('a@b.com')).toBe('~YUBiLmNvbQ');
    expect(toGregorUid('~x')).toBe(`~${Buffer.from('~x').toString('base64url')}`);
    expect(fromGregorUid('~YUBiLmNvbQ')).toBe('a@b.com');
    expect(fromGregorUid('42')).toBe('42');
    // A Gregor user named with a leading ~ that is no encoding has no Notify ID.
    expect(fromGregorUid('~!')).toBeNull();
    expect(fromGregorUid('~YQ==')).toBeNull();
    expect(fromGregorUid('~YUBiLmNvbR')).toBeNull();
    expect(fromGregorUid('~YQ')).toBeNull(); // "a" fits, so its canonical form is "a"
  });

  it('round trip for any string, and the encoding is a legal Gregor ID when it fits (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.stringMatching(/^[A-Za-z0-9._:~-]{1,140}$/),
        ),
        (s) => {
          const wellFormed = Buffer.from(s, 'utf8').toString('utf8'); // lone surrogates → U+FFFD
          const uid = toGregorUid(wellFormed);
          expect(fromGregorUid(uid)).toBe(wellFormed);
          if (fitsGregor(uid)) expect(id(uid, 'uid')).toBe(uid);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('two different Notify IDs never share a Gregor ID (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        fc.pre(a !== b);
        expect(toGregorUid(a)).not.toBe(toGregorUid(b));
      }),
    );
  });
});

describe('the Notify ID of a principal: one channel for the Notify socket and the bridge', () => {
  it("the token's own ID first, else the decoded Gregor ID (an extension's principal), null for a service", () => {
    const user = { kind: 'user' as const };
    expect(notifyIdOf({ ...user, uid: '~YUBiLmNvbQ', notifyId: 'a@b.com' })).toBe('a@b.com');
    expect(notifyIdOf({ ...user, uid: null, notifyId: 'x'.repeat(200) })).toBe('x'.repeat(200));
    expect(notifyIdOf({ ...user, uid: '~YUBiLmNvbQ' })).toBe('a@b.com');
    expect(notifyIdOf({ ...user, uid: 'alice' })).toBe('alice');
    expect(notifyIdOf({ ...user, uid: '~!' })).toBe('~!');
    expect(notifyIdOf({ kind: 'service', uid: null })).toBeNull();
  });
});
