import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/core/state-machine.js';
import { messageToWire, stateBlob } from '../../src/protocol/message.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { openPostgresEngine } from '../../src/storage/postgres/index.js';
import { openSqliteEngine } from '../../src/storage/sqlite/index.js';
import { history, TIME_MAX, TIME_MIN, toMessages, VIEWS } from '../conformance/arbitraries.js';
import { PROPERTY_TIMEOUT_MS } from '../conformance/engine-properties.js';
import { freshUid, s } from '../conformance/fixtures.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';

const pgUp = await requirePostgres('differential (memory vs SQLite vs PostgreSQL)');
const NOW = s(TIME_MIN + 50);

describe.skipIf(!pgUp)('engines never disagree', () => {
  let engines: [string, Engine][] = [];
  let db: TempDatabase;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gregor-diff-'));
    db = await createTempDatabase('gregor_diff_', { fsync: false });
    engines = [
      ['memory', new MemoryEngine({ now: () => NOW })],
      [
        'sqlite',
        await openSqliteEngine({ path: join(dir, 'diff.db'), now: () => NOW, synchronous: 'normal' }),
      ],
      ['postgres', await openPostgresEngine({ connectionString: db.url, now: () => NOW })],
    ];
  });

  afterAll(async () => {
    for (const [, e] of engines) await e.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'the same random messages give memory, SQLite and PostgreSQL the same states, hashes and catch-up answers',
    async ({ signal }) => {
      await fc.assert(
        fc.asyncProperty(
          history,
          fc.integer({ min: TIME_MIN - 1, max: TIME_MAX + 1 }),
          async ({ specs, order }, t) => {
            // After a timeout the remaining runs pass without work: nothing outlives the test.
            if (signal.aborted) return;
            const uid = freshUid('diff');
            const messages = toMessages(uid, specs);
            const answers = await Promise.all(
              engines.map(async ([, engine]) => {
                const results = [];
                for (const i of order) results.push(await engine.consumeMessage(messages[i]!));
                const views = [];
                for (const device of VIEWS) {
                  for (const at of [null, { time: s(t) }]) {
                    const state = await engine.state(uid, device, at);
                    views.push({ blob: stateBlob(state.items), hash: state.hash, seq: state.seq });
                  }
                  const after = await engine.messagesAfter(uid, device, 2);
                  views.push(after.messages.map((m) => [m.seq, messageToWire(m.message)]));
                  const since = await engine.inBandMessagesSince(uid, device, { time: s(t) });
                  views.push(since.map(messageToWire));
                }
                return { results: results.map((r) => [r.status, r.seq, [...r.deadOnArrival]]), views };
              }),
            );
            for (let i = 1; i < answers.length; i++) {
              expect([engines[i]![0], answers[i]]).toEqual([engines[i]![0], answers[0]]);
            }
          },
        ),
        { numRuns: 500 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
