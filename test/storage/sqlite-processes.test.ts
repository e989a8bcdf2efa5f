import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { openSqliteEngine } from '../../src/storage/sqlite/index.js';
import { s, wire } from '../conformance/fixtures.js';
import { BURST_T0, burstMessage } from './fixtures/sqlite-burst.js';
import { finished, spawnFixture } from './sqlite-child.js';
import { tempDir } from './sqlite-support.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await remove();
});

describe('sqlite engine across processes', () => {
  it('after a SIGKILL mid-burst, every acknowledged message is stored and the state is exactly theirs', async () => {
    const path = join(dir, 'crash.db');
    const count = 1_000_000;
    const child = spawnFixture('sqlite-crash-writer.ts', [path, 'victim', String(count)]);
    const acked = new Set<string>();
    let buffered = '';
    const exited = finished(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (buffered + d.toString()).split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.startsWith('stored ')) acked.add(line.slice(7));
        if (acked.size >= 2000) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      exited.then(
        ({ stderr }) => reject(new Error(`the writer exited before it was killed: ${stderr}`)),
        reject,
      );
    });
    expect((await exited).code).toBeNull();

    const now = BURST_T0 + 10 * count;
    const engine = await openSqliteEngine({ path, now: () => now });
    const log = await engine.messagesAfter('victim', null, 0);
    const stored = log.messages.map((m) => m.message.md.msgId);
    expect(log.messages.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
    const storedSet = new Set(stored);
    expect([...acked].filter((id) => !storedSet.has(id))).toEqual([]);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(count);
    const memory = new MemoryEngine({ now: () => now });
    for (const id of stored) {
      const i = Number(id.slice(1));
      expect(i).toBeLessThan(count);
      await memory.consumeMessage(burstMessage('victim', i));
    }
    expect((await engine.state('victim')).hash).toBe((await memory.state('victim')).hash);
    expect((await engine.state('victim')).items).toEqual((await memory.state('victim')).items);
    await engine.close();
  });

  it('two processes claiming due reminders at once claim each exactly once', async () => {
    const path = join(dir, 'reminders.db');
    const engine = await openSqliteEngine({ path });
    const due = new Set<string>();
    for (let u = 0; u < 4; u++) {
      const create: Record<string, unknown> = {};
      for (let i = 0; i < 500; i++) {
        create[`r${i}`] = { category: 'c', times: { remind_at: [`+${i % 10}s`, '+10000s'] } };
        due.add(JSON.stringify({ uid: `u${u}`, item: `r${i}`, at: s(1000 + (i % 10)) }));
      }
      await engine.consumeMessage(wire(`u${u}`, s(1000), { system: 'gregor', body: { create } }));
    }
    await engine.close();
    const now = String(s(1100));
    const start = String(Date.now() + 1500);
    const runs = await Promise.all(
      ['a', 'b'].map((owner) => finished(spawnFixture('sqlite-claimer.ts', [path, owner, now, '3', start]))),
    );
    const claims = runs.flatMap((r) => {
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n').filter(Boolean);
    });
    expect(claims.length).toBe(due.size);
    expect(new Set(claims)).toEqual(due);
    // Both took part: the claims really raced.
    expect(runs.every((r) => r.stdout.length > 0)).toBe(true);
  });
});
