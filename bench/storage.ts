/**
 * Durable storage, per engine: ingest (messages/s) next to a plain-driver insert loop measured in
 * the same run, state() for a user with 10k items, and the cost of catching up on missed messages.
 *
 *   npx tsx bench/storage.ts [--smoke]
 */
import { printFigures, SMOKE } from './report.js';
import { benchPostgres } from './storage-postgres.js';
import { benchSqlite } from './storage-sqlite.js';

printFigures(`bench/storage — SQLite${SMOKE ? ' (smoke)' : ''}`, await benchSqlite({ smoke: SMOKE }));
printFigures(`bench/storage — PostgreSQL${SMOKE ? ' (smoke)' : ''}`, await benchPostgres({ smoke: SMOKE }));
