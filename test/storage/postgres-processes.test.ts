import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { openPostgresEngine } from '../../src/storage/postgres/index.js';
import { freshUid } from '../conformance/fixtures.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import { burstMessage } from './fixtures/pg-messages.js';

const reachable = await requirePostgres('postgres multi-process');

function child(script: string, args: readonly string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const path = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: [stdin, 'pipe', 'inherit'],
  });
}

/** Collects a child's stdout lines; `onLine` may act on each. */
function lines(proc: ChildProcess, onLine: (line: string) => void = () => {}): Promise<string[]> {
  const out: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      out.push(line);
      onLine(line);
    }
  });
  return new Promise((resolve) => proc.on('close', () => resolve(out)));
}

describe.skipIf(!reachable)('postgres engine across processes', () => {
  let db: TempDatabase;
  beforeAll(async () => {
    db = await createTempDatabase();
    await (await openPostgresEngine({ connectionString: db.url })).close();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('two processes claiming at once get each due reminder exactly once between them', async () => {
    const engine = await openPostgresEngine({ connectionString: db.url });
    const expected: string[] = [];
    try {
      for (let u = 0; u < 10; u++) {
        const uid = freshUid('claim');
        for (let i = 0; i < 30; i++) {
          const m = burstMessage(uid, i * 3);
          await engine.consumeMessage(m);
          if (m.kind === 'update')
            for (const it of m.create) expected.push(`${uid} ${it.id} ${it.remindAt[0]}`);
        }
      }
    } finally {
      await engine.close();
    }
    // Both claimers start at the same moment (a slow start must not let one take everything).
    const procs = ['one', 'two'].map((owner) =>
      child('pg-claim.ts', [db.url, owner, String(10_000_000)], 'pipe'),
    );
    let ready = 0;
    const [a, b] = (
      await Promise.all(
        procs.map((proc) =>
          lines(proc, (line) => {
            if (line === 'ready' && ++ready === procs.length) for (const p of procs) p.stdin!.end('go\n');
          }),
        ),
      )
    ).map((out) => out.filter((line) => line !== 'ready'));
    const union = [...a!, ...b!];
    expect(union.sort()).toEqual(expected.sort());
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
  });

  it('after a SIGKILL mid-burst every acknowledged message is stored, and the state is that of what was stored', async () => {
    const uid = freshUid('crash');
    const acked: string[] = [];
    const proc = child('pg-burst.ts', [db.url, uid, '20000']);
    await lines(proc, (line) => {
      if (line === 'ready') return;
      acked.push(line);
      if (acked.length === 300) proc.kill('SIGKILL');
    });
    expect(acked.length).toBeGreaterThanOrEqual(300);
    const engine = await openPostgresEngine({ connectionString: db.url });
    try {
      // Straight from the table: messagesAfter leaves out creations dismissed since.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query('SELECT msg_id FROM gregor_messages WHERE uid = $1 ORDER BY seq', [
        uid,
      ]);
      await client.end();
      const storedIds = rows.map((r) => r.msg_id as string);
      expect(storedIds.length).toBeLessThan(20000);
      expect(new Set(storedIds)).toEqual(new Set([...storedIds, ...acked]));
      const sent = new Set(Array.from({ length: 20000 }, (_, i) => `msg${i}`));
      expect(storedIds.every((id) => sent.has(id))).toBe(true);
      const memory = new MemoryEngine();
      for (const id of storedIds) await memory.consumeMessage(burstMessage(uid, Number(id.slice(3))));
      expect((await engine.state(uid)).hash).toBe((await memory.state(uid)).hash);
      expect((await engine.state(uid)).seq).toBe(storedIds.length);
    } finally {
      await engine.close();
    }
  });
});
