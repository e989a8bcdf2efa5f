import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { id } from '../../src/protocol/validate.js';
import {
  fitsGregor,
  fromGregorUid,
  goKeyMatches,
  notifyIdOf,
  notifyUserId,
  rawMember,
  toGregorUid,
  UserIdRefused,
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
  ];
  for (const [json, want] of cases) {
    it(`user_id ${json} → ${JSON.stringify(want)}`, () => {
      expect(notifyUserId(`{"exp":1, "user_id" : ${json} , "x":[{"user_id":"inner"}]}`)).toBe(want);
    });
  }

  it('an object or an array is refused, as Notify refuses it (in any member that is user_id)', () => {
    for (const json of ['{"a": [1, "}"]}', '[]', '["x"]', '{}']) {
      expect(() => notifyUserId(`{"user_id":${json}}`)).toThrow(UserIdRefused);
    }
    // Go decodes every user_id member in order and fails on the first it refuses.
    expect(() => notifyUserId('{"user_id":[1],"user_id":"later"}')).toThrow(UserIdRefused);
    expect(() => notifyUserId('{"USER_ID":{},"user_id":"later"}')).toThrow(UserIdRefused);
    // A nested object that merely contains a user_id is not the member.
    expect(notifyUserId('{"x":{"user_id":[1]},"user_id":"a"}')).toBe('a');
  });

  it("the key is matched as Go's encoding/json matches it: exactly or case-insensitively; the last wins", () => {
    for (const key of ['USER_ID', 'User_Id', 'uSeR_iD', 'u\u017fer_id', 'U\u017fER_ID', 'user\\u005FID']) {
      expect(notifyUserId(`{"${key}":"x"}`)).toBe('x');
    }
    // Not folds of user_id: dotless i, dotted capital I, a dash, other lengths.
    for (const key of ['user_\u0131d', 'user_\u0130d', 'user-id', 'userid', 'user_id ', ' user_id']) {
      expect(notifyUserId(`{"${key}":"x"}`)).toBeUndefined();
    }
    // Go assigns each matching key in order: the last one wins, exact or folded.
    expect(notifyUserId('{"user_id":"exact","USER_ID":"folded"}')).toBe('folded');
    expect(notifyUserId('{"USER_ID":"folded","user_id":"exact"}')).toBe('exact');
    expect(notifyUserId('{"User_Id":1,"u\u017fer_id":2}')).toBe('2');
    expect(goKeyMatches('\u212Aey', 'key')).toBe(true);
    expect(goKeyMatches('KEY', 'key')).toBe(true);
    expect(goKeyMatches('\u212Aey', 'hey')).toBe(false);
  });

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
      fc.oneof(
        fc.string(),
        fc.constantFrom('user_id', 'USER_ID', 'User_Id', 'u\u017fer_id', 'user_\u0131d', 'user-id'),
        fc.constant('user\\u005fid'),
      ),
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
        } else {
          expect(raw).toBeDefined();
          expect(JSON.parse(raw!)).toEqual(parsed.user_id);
          // The raw text is the last user_id member as written.
          const last = members.filter(([k]) => k === 'user_id' || k === 'user\\u005fid').at(-1)!;
          expect(raw).toBe(last[1]);
        }
        // Go's key matching, against an oracle written out: ASCII case-insensitive, and ſ is s.
        const goKey = (k: string) => /^[uU][sS\u017f][eE][rR]_[iI][dD]$/.test(k);
        const keys = Object.keys(parsed);
        const folded = members.filter(([k]) => goKey(k === 'user\\u005fid' ? 'user_id' : k));
        const values = folded.map(([, v]) => v);
        if (values.some((v) => v.startsWith('{') || v.startsWith('['))) {
          expect(() => notifyUserId(json)).toThrow(UserIdRefused);
        } else if (values.length === 0) {
          expect(keys.some(goKey)).toBe(false);
          expect(notifyUserId(json)).toBeUndefined();
        } else {
          const last = values.at(-1)!;
          const want = last.startsWith('"') ? (JSON.parse(last) as string) : last;
          expect(notifyUserId(json)).toBe(Buffer.from(want, 'utf8').toString('utf8'));
        }
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
