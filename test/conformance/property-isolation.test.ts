import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { checkEngineProperty } from './engine-properties.js';
import type { Clock, EngineFactory } from './engine-suite.js';

/** A memory engine per property run, recording the clocks it was given. */
function recordingFactory(clocks: (() => number)[]): EngineFactory {
  return async ({ now }) => {
    clocks.push(now);
    return { engine: new MemoryEngine({ now }), cleanup: async () => {} };
  };
}

describe('property tests keep to their own test', () => {
  it('a property that outlives its test (aborted) does no more work and moves no clock', async () => {
    const controller = new AbortController();
    let calls = 0;
    let seen: Clock | null = null;
    await checkEngineProperty(
      recordingFactory([]),
      [fc.integer()],
      async (_engine, clock, n) => {
        seen = clock;
        calls++;
        if (calls === 5) controller.abort();
        clock.now = n;
        return true;
      },
      controller.signal,
      200,
    );
    // The runs after the abort passed without calling the predicate.
    expect(calls).toBe(5);
    expect(seen).not.toBeNull();
  });

  it('two properties running at once get separate engines and clocks', async () => {
    const clocks: (() => number)[] = [];
    const factory = recordingFactory(clocks);
    const run = (value: number) =>
      checkEngineProperty(
        factory,
        [fc.constant(value)],
        async (_engine, clock, v) => {
          clock.now = v;
          await new Promise((r) => setImmediate(r));
          return clock.now === v;
        },
        new AbortController().signal,
        50,
      );
    await Promise.all([run(1), run(2)]);
    expect(clocks).toHaveLength(2);
  });
});
