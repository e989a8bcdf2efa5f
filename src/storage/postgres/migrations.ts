import { GregorError } from '../../protocol/errors.js';
import type { Migration } from '../common/migrations.js';
import type { PgPool } from './connection.js';

export type { Migration } from '../common/migrations.js';

/** `begin_at` of an interval that starts at the beginning of time (a unique key cannot hold NULL portably). */
export const BEGIN_OF_TIME = '-9223372036854775808';

/** The schema, as the list of steps that build it. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE gregor_users (
  uid text PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  compacted_before bigint NOT NULL DEFAULT 0,
  -- Bumped by compaction, which changes a replica without adding messages: caches check it with seq.
  version bigint NOT NULL DEFAULT 0
);
CREATE TABLE gregor_messages (
  uid text NOT NULL,
  seq bigint NOT NULL,
  msg_id text NOT NULL,
  ctime bigint NOT NULL,
  device text,
  content text NOT NULL,
  PRIMARY KEY (uid, seq),
  UNIQUE (uid, msg_id)
);
CREATE INDEX gregor_messages_ctime ON gregor_messages (uid, ctime);
CREATE TABLE gregor_items (
  uid text NOT NULL,
  item_id text NOT NULL,
  msg_id text NOT NULL,
  ctime bigint NOT NULL,
  category text NOT NULL,
  created bigint NOT NULL,
  expires bigint,
  for_device text,
  remind_at jsonb NOT NULL,
  body text NOT NULL,
  digest bytea NOT NULL,
  PRIMARY KEY (uid, item_id)
);
CREATE TABLE gregor_dismissed_ids (
  uid text NOT NULL,
  item_id text NOT NULL,
  scope text NOT NULL,
  ctime bigint NOT NULL,
  PRIMARY KEY (uid, item_id, scope)
);
CREATE TABLE gregor_dismissed_intervals (
  uid text NOT NULL,
  category text NOT NULL,
  scope text NOT NULL,
  begin_at bigint NOT NULL,
  end_at bigint NOT NULL,
  ctime bigint NOT NULL,
  PRIMARY KEY (uid, category, scope, begin_at, end_at)
);
CREATE TABLE gregor_reminders (
  uid text NOT NULL,
  item_id text NOT NULL,
  remind_at bigint NOT NULL,
  lease_owner text,
  lease_until bigint,
  PRIMARY KEY (uid, item_id, remind_at)
);
CREATE INDEX gregor_reminders_due ON gregor_reminders (remind_at);
`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Any constant works; it only has to be the same in every Gregor process. */
const MIGRATION_LOCK = 0x67726567;

/**
 * Brings the schema up to date. Several processes may start at once: the advisory lock lets one
 * migrate while the others wait, then find nothing left to do.
 * Throws GREGOR_ERR_SCHEMA_TOO_NEW when the database was migrated by a newer Gregor.
 *
 * @example
 *   await migrate(pool); // -> the version now applied
 */
export async function migrate(pool: PgPool, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  const client = await pool.connect();
  let broken = false;
  const latest = migrations.at(-1)?.version ?? 0;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS gregor_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query('SELECT coalesce(max(version), 0) AS v FROM gregor_migrations');
      const current = Number(rows[0]!.v);
      if (current > latest) {
        throw new GregorError(
          'SCHEMA_TOO_NEW',
          `the database schema is at version ${current}, this Gregor knows versions up to ${latest}`,
        );
      }
      for (const m of migrations) {
        if (m.version <= current) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO gregor_migrations (version) VALUES ($1)', [m.version]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
  return latest;
}
