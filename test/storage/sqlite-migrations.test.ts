import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import { openSqliteEngine, SCHEMA_VERSION } from '../../src/storage/sqlite/index.js';
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

function migrations(path: string): { version: number; applied_at: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT version, applied_at FROM gregor_migrations ORDER BY version').all() as {
      version: number;
      applied_at: number;
    }[];
  } finally {
    db.close();
  }
}

describe('sqlite migrations', () => {
  it('a fresh file gets every migration once, in a new directory', async () => {
    const path = join(dir, 'nested', 'deeper', 'gregor.db');
    await (await openSqliteEngine({ path })).close();
    const applied = migrations(path);
    expect(applied.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('reopening a migrated file changes nothing', async () => {
    const path = join(dir, 'gregor.db');
    await (await openSqliteEngine({ path })).close();
    const before = migrations(path);
    await (await openSqliteEngine({ path })).close();
    expect(migrations(path)).toEqual(before);
  });

  it('two processes opening one new file at once both succeed, and it is migrated once', async () => {
    const path = join(dir, 'race.db');
    const start = String(Date.now() + 1500);
    const runs = await Promise.all([0, 1].map(() => finished(spawnFixture('sqlite-open.ts', [path, start]))));
    for (const run of runs)
      expect({ out: run.stdout.trim(), err: run.stderr }).toEqual({ out: 'ok', err: '' });
    expect(migrations(path).map((m) => m.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });

  it('a file migrated by a newer Gregor is refused with SCHEMA_TOO_NEW naming both versions', async () => {
    const path = join(dir, 'gregor.db');
    await (await openSqliteEngine({ path })).close();
    const db = new Database(path);
    db.prepare('INSERT INTO gregor_migrations (version, applied_at) VALUES (?, ?)').run(
      SCHEMA_VERSION + 7,
      0,
    );
    db.close();
    const error = await openSqliteEngine({ path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GregorError);
    expect((error as GregorError).code).toBe('GREGOR_ERR_SCHEMA_TOO_NEW');
    expect((error as GregorError).message).toContain(String(SCHEMA_VERSION + 7));
    expect((error as GregorError).message).toContain(String(SCHEMA_VERSION));
  });
});
