import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Engine, State } from '../../src/core/state-machine.js';
import type { InBandMessage } from '../../src/protocol/message.js';
import { stateBlob } from '../../src/protocol/message.js';
import { history, TIME_MAX, TIME_MIN, toMessages, VIEWS } from './arbitraries.js';
import { type EngineFactory, useEngine } from './engine-suite.js';
import { freshUid, s } from './fixtures.js';

/** Runs per property: at least 1,000 (the floor); GREGOR_PROPERTY_RUNS may raise it. */
const RUNS = Math.max(1000, Number(process.env.GREGOR_PROPERTY_RUNS ?? 0));

async function consumeAll(engine: Engine, uid: string, messages: readonly InBandMessage[]): Promise<void> {
  for (const m of messages) await engine.consumeMessage({ ...m, md: { ...m.md, uid } });
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
    const { clock, get } = useEngine(factory);

    it('any permutation and duplication of a message set yields the same state and hash', async () => {
      await fc.assert(
        fc.asyncProperty(history, someTime, async ({ specs, order }, t) => {
          clock.now = s(TIME_MIN + 50);
          const engine = get().engine;
          const [inOrder, shuffled] = [freshUid('p'), freshUid('p')];
          const messages = toMessages(inOrder, specs);
          await consumeAll(engine, inOrder, messages);
          await consumeAll(
            engine,
            shuffled,
            order.map((i) => messages[i]!),
          );
          for (const device of VIEWS) {
            for (const at of [null, { time: s(t) }]) {
              const [a, b] = [
                await engine.state(inOrder, device, at),
                await engine.state(shuffled, device, at),
              ];
              if (!sameView(a, b)) return false;
            }
          }
          return true;
        }),
        { numRuns: RUNS },
      );
    });

    it('the state at t equals the state of consuming only the messages with ctime <= t', async () => {
      await fc.assert(
        fc.asyncProperty(history, someTime, async ({ specs, order }, t) => {
          clock.now = s(TIME_MAX + 10);
          const engine = get().engine;
          const [all, prefix] = [freshUid('p'), freshUid('p')];
          const messages = order.map((i) => toMessages(all, specs)[i]!);
          await consumeAll(engine, all, messages);
          await consumeAll(
            engine,
            prefix,
            messages.filter((m) => m.md.ctime <= s(t)),
          );
          for (const device of VIEWS) {
            const at = { time: s(t) };
            if (!sameView(await engine.state(all, device, at), await engine.state(prefix, device, at)))
              return false;
          }
          return true;
        }),
        { numRuns: RUNS },
      );
    });

    it('replaying inBandMessagesSince(t) onto the state at t gives the state now', async () => {
      await fc.assert(
        fc.asyncProperty(
          history,
          someTime,
          fc.constantFrom(...VIEWS),
          async ({ specs, order }, t, device) => {
            clock.now = s(TIME_MIN + 60);
            const engine = get().engine;
            const [all, replica] = [freshUid('p'), freshUid('p')];
            const messages = order.map((i) => toMessages(all, specs)[i]!);
            await consumeAll(engine, all, messages);
            await consumeAll(
              engine,
              replica,
              messages.filter((m) => m.md.ctime <= s(t)),
            );
            await consumeAll(engine, replica, await engine.inBandMessagesSince(all, device, { time: s(t) }));
            return sameView(await engine.state(all, device), await engine.state(replica, device));
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
}
