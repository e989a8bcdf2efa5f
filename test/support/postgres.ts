import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests use; override with GREGOR_TEST_PG (a URL of a database the tests may create databases from). */
export const ADMIN_URL = process.env.GREGOR_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TempDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database for one test file; `drop()` removes it even with sessions still open.
 * `fsync: false` turns off synchronous commit in it (never for tests of durability).
 *
 * @example
 *   const db = await createTempDatabase();
 *   const engine = await openPostgresEngine({ connectionString: db.url });
 *   // …
 *   await engine.close(); await db.drop();
 */
export async function createTempDatabase(
  prefix = 'gregor_t_',
  options: { fsync?: boolean } = {},
): Promise<TempDatabase> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  // Suites of thousands of tiny sequential transactions (the property runs) test semantics, not
  // durability: without waiting for the WAL flush each commit costs ~0.3 ms instead of ~3 ms.
  if (options.fsync === false) await admin(`ALTER DATABASE ${name} SET synchronous_commit = off`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Whether the test server answers. */
export async function pgReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Decides whether PostgreSQL tests run. Unreachable locally: they are skipped, loudly. Unreachable
 * under CI: this throws, because a suite that silently skips in CI tests nothing.
 *
 * @example
 *   const pgUp = await requirePostgres('postgres engine');
 *   describe.skipIf(!pgUp)('postgres engine', () => { … });
 */
export async function requirePostgres(what: string): Promise<boolean> {
  if (await pgReachable()) return true;
  const message = `PostgreSQL is unreachable at ${ADMIN_URL}: ${what} tests cannot run`;
  if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
  console.error(`\n*** SKIPPING ${what}: ${message} ***\n`);
  return false;
}
