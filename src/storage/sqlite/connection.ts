import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { toStorageError } from './errors.js';
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
    enableWal(db);
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    // A batch dirties index pages across many users: checkpointing after every commit (the
    // default 1,000-page WAL) and re-reading evicted pages would halve the ingest rate.
    db.pragma('wal_autocheckpoint = 16384');
    db.pragma('cache_size = -65536');
    migrate(db);
    return db;
  } catch (e) {
    db?.close();
    throw toStorageError(e, `opening ${options.path}`, 'STORAGE_UNAVAILABLE');
  }
}

/**
 * Switching a new file to WAL needs an exclusive lock, and SQLite does not wait for it through the
 * busy handler: when another process opens the same new file at the same moment, the pragma can
 * fail with SQLITE_BUSY or leave the old mode. Retry for up to ~5 s.
 */
function enableWal(db: Database.Database): void {
  for (let attempt = 0; ; attempt++) {
    try {
      if (db.pragma('journal_mode = WAL', { simple: true }) === 'wal') return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 250) throw e;
    }
    if (attempt >= 250) throw new Error('could not switch the database to WAL mode');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
