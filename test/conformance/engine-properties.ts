import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Engine, State } from '../../src/core/state-machine.js';
import type { InBandMessage } from '../../src/protocol/message.js';
import { stateBlob } from '../../src/protocol/message.js';
import { history, TIME_MAX, TIME_MIN, toMessages, VIEWS } from './arbitraries.js';
import type { Clock, EngineFactory } from './engine-suite.js';
import { freshUid, s } from './fixtures.js';

/** Runs per property: at least 1,000 (the floor); GREGOR_PROPERTY_RUNS may raise it. */
const RUNS = Math.max(1000, Number(process.env.GREGOR_PROPERTY_RUNS ?? 0));
/**
 * A property on PostgreSQL takes about 40 s on a busy 2-core machine: the limit leaves room for a
 * machine several times slower. It is a backstop, not a measure.
 */
export const PROPERTY_TIMEOUT_MS = 300_000;

/**
 * Runs a property on an engine of its own, with a clock of its own, for one test only: a property
 * that outlives its test (a timeout) must not move a clock or write to an engine that the next
 * test uses. Once the test's signal is aborted, every remaining run passes at once without work,
 * so fast-check neither goes on nor shrinks.
 */
function engineProperty<Ts extends [unknown, ...unknown[]]>(
  factory: EngineFactory,
  name: string,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (engine: Engine, clock: Clock, ...args: Ts) => Promise<boolean>,
): void {
  it(name, ({ signal }) => checkEngineProperty(factory, arbitraries, predicate, signal), PROPERTY_TIMEOUT_MS);
}

/** The body of `engineProperty`, apart so a test can check that it keeps to its own test. */
export async function checkEngineProperty<Ts extends [unknown, ...unknown[]]>(
  factory: EngineFactory,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (engine: Engine, clock: Clock, ...args: Ts) => Promise<boolean>,
  signal: AbortSignal,
  runs = RUNS,
): Promise<void> {
  const clock: Clock = { now: s(TIME_MIN) };
  const harness = await factory({ now: () => clock.now });
  try {
    await fc.assert(
      fc.asyncProperty(...arbitraries, async (...args: Ts) =>
        signal.aborted ? true : predicate(harness.engine, clock, ...args),
      ),
      { numRuns: runs },
    );
  } finally {
    await harness.cleanup();
  }
}

/** Consumes the messages in order as `uid`. */
async function consumeAll(engine: Engine, uid: string, messages: readonly InBandMessage[]): Promise<void> {
  for (const m of messages) await engine.consumeMessage({ ...m, md: { ...m.md, uid } });
}

/** Consumes every message as `all`, and those with ctime <= t as `before`, both at once. */
function consumeAllAndBefore(
  engine: Engine,
  [all, before]: readonly [string, string],
  messages: readonly InBandMessage[],
  t: number,
): Promise<unknown> {
  return Promise.all([
    consumeAll(engine, all, messages),
    consumeAll(
      engine,
      before,
      messages.filter((m) => m.md.ctime <= t),
    ),
  ]);
}

/** The views of two users that must be equal, read concurrently (they are independent reads). */
async function sameViews(
  engine: Engine,
  [a, b]: readonly [string, string],
  reads: readonly { device: string | null; at: { time: number } | null }[],
): Promise<boolean> {
  const states = await Promise.all(
    reads.flatMap(({ device, at }) => [engine.state(a, device, at), engine.state(b, device, at)]),
  );
  for (let i = 0; i < states.length; i += 2) if (!sameView(states[i]!, states[i + 1]!)) return false;
  return true;
}

/** What must be equal between replicas: the visible items (as the seed's blob) and the hash. */
function view(state: State): { blob: unknown; hash: string } {
  return { blob: stateBlob(state.items), hash: state.hash };
}

function sameView(a: State, b: State): boolean {
  const [x, y] = [view(a), view(b)];
  return x.hash === y.hash && JSON.stringify(x.blob) === JSON.stringify(y.blob);
}

const someTime = fc.integer({ min: TIME_MIN - 1, max: TIME_MAX + 1 });

/**
 * Convergence, checked on random histories: the CRDT claims of seeds 001 and 002 and of
 * design.md, each property run at least 1,000 times on every engine.
 */
export function describeEngineProperties(name: string, factory: EngineFactory): void {
  describe(`${name} engine convergence properties`, () => {
    // Each property's two users are independent: consuming for both at once halves the wall time
    // a database round trip costs, and changes nothing a property checks.
    engineProperty(
      factory,
      'any permutation and duplication of a message set yields the same state and hash',
      [history, someTime],
      async (engine, clock, { specs, order }, t) => {
        clock.now = s(TIME_MIN + 50);
        const [inOrder, shuffled] = [freshUid('p'), freshUid('p')];
        const messages = toMessages(inOrder, specs);
        await Promise.all([
          consumeAll(engine, inOrder, messages),
          consumeAll(
            engine,
            shuffled,
            order.map((i) => messages[i]!),
          ),
        ]);
        const reads = VIEWS.flatMap((device) => [null, { time: s(t) }].map((at) => ({ device, at })));
        return sameViews(engine, [inOrder, shuffled], reads);
      },
    );

    engineProperty(
      factory,
      'the state at t equals the state of consuming only the messages with ctime <= t',
      [history, someTime],
      async (engine, clock, { specs, order }, t) => {
        clock.now = s(TIME_MAX + 10);
        const [all, prefix] = [freshUid('p'), freshUid('p')];
        const messages = order.map((i) => toMessages(all, specs)[i]!);
        await consumeAllAndBefore(engine, [all, prefix], messages, s(t));
        const reads = VIEWS.map((device) => ({ device, at: { time: s(t) } }));
        return sameViews(engine, [all, prefix], reads);
      },
    );

    engineProperty(
      factory,
      'replaying inBandMessagesSince(t) onto the state at t gives the state now',
      [history, someTime, fc.constantFrom(...VIEWS)],
      async (engine, clock, { specs, order }, t, device) => {
        clock.now = s(TIME_MIN + 60);
        const [all, replica] = [freshUid('p'), freshUid('p')];
        const messages = order.map((i) => toMessages(all, specs)[i]!);
        await consumeAllAndBefore(engine, [all, replica], messages, s(t));
        await consumeAll(engine, replica, await engine.inBandMessagesSince(all, device, { time: s(t) }));
        return sameViews(engine, [all, replica], [{ device, at: null }]);
      },
    );
  });
}
