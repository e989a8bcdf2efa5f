import type { Database } from 'better-sqlite3';
import { GregorError } from '../../protocol/errors.js';
import type { Migration } from '../common/migrations.js';

export type { Migration } from '../common/migrations.js';

/** The schema, as the list of steps that build it. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE gregor_users (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        -- Bumped by every change to the user's rows: caches compare it to know they are current.
        rev INTEGER NOT NULL,
        compacted_before INTEGER NOT NULL
      );
      -- Rows refer to users by gregor_users.id: small integer keys keep the indexes small, and the
      -- fewer index pages a batch dirties, the cheaper its commit. Rowid tables append their rows.
      CREATE TABLE gregor_messages (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        msg_id TEXT NOT NULL,
        ctime INTEGER NOT NULL,
        device TEXT,
        content TEXT NOT NULL
      );
      CREATE UNIQUE INDEX gregor_messages_seq ON gregor_messages (user_id, seq);
      CREATE UNIQUE INDEX gregor_messages_msg_id ON gregor_messages (user_id, msg_id);
      CREATE INDEX gregor_messages_ctime ON gregor_messages (user_id, ctime);
      CREATE TABLE gregor_items (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        msg_id TEXT NOT NULL,
        ctime INTEGER NOT NULL,
        category TEXT NOT NULL,
        created INTEGER NOT NULL,
        expires INTEGER,
        for_device TEXT,
        remind_at TEXT NOT NULL,
        body TEXT NOT NULL,
        digest BLOB NOT NULL
      );
      CREATE UNIQUE INDEX gregor_items_key ON gregor_items (user_id, item_id);
      CREATE INDEX gregor_items_expires ON gregor_items (expires);
      CREATE TABLE gregor_dismissed_ids (
        user_id INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        ctime INTEGER NOT NULL,
        PRIMARY KEY (user_id, item_id, scope)
      ) WITHOUT ROWID;
      CREATE TABLE gregor_dismissed_intervals (
        user_id INTEGER NOT NULL,
        category TEXT NOT NULL,
        scope TEXT NOT NULL,
        begin INTEGER,
        end INTEGER NOT NULL,
        ctime INTEGER NOT NULL
      );
      -- begin NULL is the beginning of time; NULLs are distinct in UNIQUE, so index a sentinel.
      CREATE UNIQUE INDEX gregor_dismissed_intervals_key
        ON gregor_dismissed_intervals (user_id, category, scope, ifnull(begin, -9007199254740991), end);
      CREATE TABLE gregor_reminders (
        user_id INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        remind_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        UNIQUE (user_id, item_id, remind_at)
      );
      CREATE INDEX gregor_reminders_due ON gregor_reminders (remind_at);
    `,
  },
  {
    version: 2,
    // The device scopes that hold interval tombstones, for LIMITS.maxIntervalScopesPerUser: whether
    // one does, and counting them one index step per scope, without reading the user's intervals.
    sql: `
      CREATE INDEX gregor_dismissed_intervals_scope ON gregor_dismissed_intervals (user_id, scope);
    `,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema up to date. Runs under BEGIN IMMEDIATE, so processes opening one new file at
 * once take turns: the first migrates, the others then find nothing to do.
 *
 * @example
 *   migrate(new Database('gregor.db')); // -> the version now applied
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  return db
    .transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS gregor_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
      );
      const row = db.prepare('SELECT max(version) AS v FROM gregor_migrations').get() as { v: number | null };
      const current = row.v ?? 0;
      if (current > known) {
        throw new GregorError(
          'SCHEMA_TOO_NEW',
          `the database schema is version ${current}, but this Gregor knows versions up to ${known}`,
        );
      }
      const record = db.prepare('INSERT INTO gregor_migrations (version, applied_at) VALUES (?, ?)');
      for (const m of migrations) {
        if (m.version <= current) continue;
        db.exec(m.sql);
        record.run(m.version, Date.now());
      }
      return known;
    })
    .immediate();
}
