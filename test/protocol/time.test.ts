import { describe, expect, it } from 'vitest';
import { parseTimeOrOffset, parseWireTime, resolveTime } from '../../src/protocol/time.js';

describe('times', () => {
  it('offsets in a message are relative to its ctime, in every unit', () => {
    const base = 1_000_000;
    expect(
      ['+250ms', '+2s', '+1.5m', '+1h', '+1d', '+1w', '-2s'].map((t) => parseWireTime(t, base, 'x') - base),
    ).toEqual([250, 2000, 90_000, 3_600_000, 86_400_000, 604_800_000, -2000]);
  });

  it('offsets in a query are relative to the moment it runs', () => {
    expect(resolveTime(parseTimeOrOffset('-1h', 'at'), 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(resolveTime(parseTimeOrOffset('1457056447', 'at'), 0)).toBe(1457056447000);
    expect(resolveTime(parseTimeOrOffset('2026-01-01T00:00:00+01:00', 'at'), 0)).toBe(
      Date.parse('2025-12-31T23:00:00Z'),
    );
    expect(resolveTime(null, 5)).toBeNull();
  });

  it('refuses times out of range, naming the field', () => {
    expect(() => parseWireTime(1e12, 0, 'times.created')).toThrow(/times.created: .* out of range/);
    expect(() => parseWireTime('-1d', 0, 'x')).toThrow(/resolves to a time out of range/);
    expect(() => parseWireTime(Number.POSITIVE_INFINITY, 0, 'x')).toThrow(/out of range/);
    expect(() => parseTimeOrOffset('soon', 'at')).toThrow(
      expect.objectContaining({ code: 'GREGOR_ERR_INVALID_TIME' }),
    );
  });
});
