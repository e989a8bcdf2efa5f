import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { toGregorError } from './errors.js';
import { migrate } from './migrations.js';

export interface ConnectionOptions {
  readonly path: string;
  /** `full` (default): a commit is on disk before it is acknowledged. `normal` may lose the last commits on power loss. */
  readonly synchronous?: 'full' | 'normal';
  /** How long to wait for another process's lock before failing (ms). */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) a Gregor SQLite file: parent directory, WAL, busy timeout, the
 * synchronous level, and the schema migrated. Failures are GregorErrors (STORAGE_UNAVAILABLE for
 * a path that cannot be opened, SCHEMA_TOO_NEW for a file from a newer Gregor).
 *
 * @example
 *   const db = openConnection({ path: 'data/gregor.db' });
 */
export function openConnection(options: ConnectionOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (options.path !== ':memory:') mkdirSync(dirname(resolve(options.path)), { recursive: true });
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    // A batch dirties index pages across many users: checkpointing after every commit (the
    // default 1,000-page WAL) and re-reading evicted pages would halve the ingest rate.
    db.pragma('wal_autocheckpoint = 16384');
    db.pragma('cache_size = -65536');
    migrate(db);
    return db;
  } catch (e) {
    db?.close();
    throw toGregorError(e, `opening ${options.path}`, 'STORAGE_UNAVAILABLE');
  }
}
