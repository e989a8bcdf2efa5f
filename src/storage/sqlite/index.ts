/** The SQLite storage engine: durable, group-committed, safe for several processes on one file. */
export { type ConnectionOptions, openConnection } from './connection.js';
export { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
export {
  openSqliteEngine,
  SqliteEngine,
  type SqliteEngineOptions,
  type SqliteEngineStats,
} from './sqlite-engine.js';
