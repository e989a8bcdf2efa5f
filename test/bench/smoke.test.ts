import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirePostgres } from '../support/postgres.js';
import { requireRedis } from '../support/redis.js';

/**
 * `npm run bench -- --smoke` in CI: the whole suite at tiny sizes must run to the end and write
 * every section's figures. Its figures mean nothing here (other test files share the cores); this
 * only proves the one command works, so the real run can be trusted to.
 */
const results = mkdtempSync(join(tmpdir(), 'gregor-bench-smoke-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

interface Results {
  smoke: boolean;
  sections: { title: string; figures: { name: string; value: number; unit: string }[] }[];
  failures: { section: string; error: string }[];
}

function runSuite(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--results', results],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const services =
  (await requirePostgres('the bench smoke run')) && (await requireRedis('the bench smoke run'));

describe.skipIf(!services)('npm run bench -- --smoke', () => {
  it('runs every section to the end and writes each figure with a finite value', {
    timeout: 300_000,
  }, async () => {
    const { code, output } = await runSuite();
    expect(code, output).toBe(0);
    const r = JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8')) as Results;
    expect(r.smoke).toBe(true);
    expect(r.failures).toEqual([]);
    const titles = r.sections.map((s) => s.title);
    for (const part of [
      'Fan-out',
      'Durable storage, SQLite',
      'Durable storage, PostgreSQL',
      'Idle',
      'Hold',
      'Reconnect',
    ])
      expect(
        titles.some((t) => t.startsWith(part)),
        `a section titled "${part}…" in ${titles.join(' / ')}`,
      ).toBe(true);
    for (const s of r.sections)
      for (const f of s.figures)
        expect(Number.isFinite(f.value), `${s.title}: ${f.name} = ${f.value}`).toBe(true);
    expect(readFileSync(join(results, 'latest.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(results, 'latest.md'), 'utf8')).toContain('| Figure |');
  });
});
