import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEngine, type SqliteEngineOptions } from '../../src/storage/sqlite/index.js';
import type { EngineFactory, EngineHarness } from '../conformance/engine-suite.js';

/** A fresh directory under the system temp dir, and a way to remove it. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-sqlite-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Engines on a real file in a fresh temp dir; `reopen` closes and opens the same file. */
export function sqliteFactory(extra: Omit<SqliteEngineOptions, 'path' | 'now'> = {}): EngineFactory {
  return async ({ now }) => {
    const { dir, remove } = await tempDir();
    const path = join(dir, 'gregor.db');
    const harness: EngineHarness = {
      engine: await openSqliteEngine({ path, now, ...extra }),
      reopen: async () => {
        await harness.engine.close();
        harness.engine = await openSqliteEngine({ path, now, ...extra });
        return harness.engine;
      },
      cleanup: async () => {
        await harness.engine.close();
        await remove();
      },
    };
    return harness;
  };
}
