import { describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { parseMessage } from '../../src/protocol/validate.js';

const ctx = { uid: 'alice', now: 1_700_000_000_000 };

/** A create of `items` items with `each` distinct reminders apiece. */
function create(items: number, each: number): unknown {
  const create: Record<string, unknown> = {};
  for (let n = 0; n < items; n++) {
    create[`i${n}`] = {
      category: 'c',
      times: { remind_at: Array.from({ length: each }, (_, r) => `+${r + 1}m`) },
    };
  }
  return { system: 'gregor', body: { create } };
}

describe('reminders per message', () => {
  const per = LIMITS.maxRemindersPerItem;
  const cap = LIMITS.maxRemindersPerMessage;

  it('a create whose items carry more reminders together than the limit is refused with GREGOR_ERR_TOO_LARGE', () => {
    let error: unknown;
    try {
      parseMessage(create(LIMITS.maxItemsPerMessage, per), ctx);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GregorError);
    expect((error as GregorError).code).toBe('GREGOR_ERR_TOO_LARGE');
    expect((error as GregorError).message).toContain(`more than ${cap} reminders in one message`);
  });

  it('a create with exactly the limit is accepted, and reminders repeated within an item count once', () => {
    const full = parseMessage(create(cap / 2, 2), ctx);
    expect(full.kind === 'update' && full.create.reduce((n, i) => n + i.remindAt.length, 0)).toBe(cap);
    const repeated = create(cap / 2, 2) as {
      body: { create: Record<string, { times: { remind_at: string[] } }> };
    };
    for (const item of Object.values(repeated.body.create)) item.times.remind_at.push('+1m', '+2m');
    expect(() => parseMessage(repeated, ctx)).not.toThrow();
  });
});
