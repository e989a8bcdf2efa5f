import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { isGregorError } from '../../src/protocol/errors.js';
import { readStringField1, writeStringField1 } from '../../src/server/notify/protobuf.js';

const root = protobuf.parse(`
  syntax = "proto3";
  message AuthRequest { string authorization = 1; }
`).root;
const AuthRequest = root.lookupType('AuthRequest');

describe("the protobuf form of Notify's Twirp messages", () => {
  it('reads what protobufjs writes, and protobufjs reads what it writes, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        const encoded = AuthRequest.encode(AuthRequest.create({ authorization: s })).finish();
        expect(readStringField1(encoded)).toBe(s);
        const decoded = AuthRequest.decode(writeStringField1(s)) as unknown as { authorization: string };
        expect(decoded.authorization).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('never fails on arbitrary bytes but with a coded error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          readStringField1(bytes);
        } catch (e) {
          expect(isGregorError(e, 'BAD_REQUEST')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
