import pg from 'pg';
import { toStorageError } from './errors.js';
import { migrate } from './migrations.js';

export interface ConnectionOptions {
  /** `postgres://user@host:5432/db` */
  readonly connectionString: string;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
}

/** A row as the driver returns it: column name -> value. */
export type Row = Record<string, unknown>;

// The parts of a `pg` client this engine calls; the driver's own types stay out of the rest of the code.

/** A statement; a `name` makes the server parse and plan it once per connection. */
export interface QueryConfig {
  readonly name?: string;
  readonly text: string;
  readonly values?: readonly unknown[];
}

export interface PgQueryable {
  query<R = Row>(
    text: string | QueryConfig,
    values?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface PgClient extends PgQueryable {
  release(error?: Error | boolean): void;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

/**
 * Opens a pool on a Gregor database and migrates its schema. Failures are GregorErrors
 * (STORAGE_UNAVAILABLE for a server that cannot be reached, SCHEMA_TOO_NEW for a database from a
 * newer Gregor); the pool is closed again.
 *
 * @example
 *   const pool = await openConnection({ connectionString: 'postgres://127.0.0.1/gregor' });
 */
export async function openConnection(options: ConnectionOptions): Promise<PgPool> {
  const pool = createPool(options.connectionString, options.poolSize ?? 10);
  try {
    await migrate(pool);
  } catch (e) {
    await pool.end().catch(() => {});
    throw toStorageError(e, 'open');
  }
  return pool;
}

const INT8_OID = 20;

/**
 * Opens a pool whose int8 columns come back as numbers: every bigint here is a time in ms or a
 * sequence number, both far below 2^53.
 */
function createPool(connectionString: string, max: number): PgPool {
  const pool = new pg.Pool({
    connectionString,
    max,
    // Short OLTP statements: compiling them with LLVM (on by default) costs more than it saves.
    options: '-c jit=off',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error'; unhandled, that would kill the process.
  // The next query on the pool reports the failure to its caller instead.
  pool.on('error', () => {});
  return pool as unknown as PgPool;
}

/**
 * Runs `body` in one transaction on one pooled client; rolls back and rethrows on failure.
 *
 * @example
 *   await inTransaction(pool, (client) => client.query('UPDATE …'));
 */
export async function inTransaction<T>(
  pool: PgPool,
  body: (client: PgClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await body(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (e) {
    // A client whose rollback fails is broken: release(true) destroys it rather than reuse it.
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch {
      client.release(true);
    }
    throw e;
  }
}
