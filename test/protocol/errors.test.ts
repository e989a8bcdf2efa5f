import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, GregorError } from '../../src/protocol/errors.js';
import { stateHash } from '../../src/protocol/hash.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('the error registry', () => {
  it('documents every code in docs/protocol.md with its HTTP status', () => {
    for (const { code, status } of Object.values(ERROR_CODES)) {
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it('never gives two errors the same code, and every code has the GREGOR_ERR_ prefix', () => {
    const codes = Object.values(ERROR_CODES).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^GREGOR_ERR_[A-Z_]+$/);
  });

  it('sends clients a code and a message, never a stack', () => {
    const e = new GregorError('INVALID_MESSAGE', 'body: nope');
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'GREGOR_ERR_INVALID_MESSAGE',
      message: 'body: nope',
    });
  });

  it('docs/protocol.md states the empty state hash the code computes', () => {
    expect(doc).toContain(stateHash([]));
  });
});
