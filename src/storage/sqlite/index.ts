/**
 * The SQLite storage engine: durable, group-committed, safe for several processes on one file.
 *
 * The PostgreSQL engine (../postgres) has the same files, names and result types; what both
 * share is in ../common (the file of the same name).
 *
 *   sqlite-engine.ts  SqliteEngine, openSqliteEngine: the Engine interface, over the files below
 *   connection.ts     openConnection: the file, opened with its pragmas and its schema migrated
 *   migrations.ts     MIGRATIONS, SCHEMA_VERSION, migrate: the schema, as numbered steps
 *   errors.ts         toStorageError: SQLite and file-system failures as GregorErrors
 *   ingest-queue.ts   IngestQueue: group commit (the calls of one event-loop turn share a transaction)
 *   consume.ts        writeBatch: a batch of messages in one transaction, one Outcome per message
 *   replicas.ts       currentUser, cachedUser: users' replicas from the rows, through the ReplicaCache
 *   messages.ts       messagesAfter, messagesSince: reading a user's log
 *   reminders.ts      claimDueReminders, completeReminders: leases on due reminders
 *   compact.ts        compactUser: one user's compaction in one transaction
 *   statements.ts     (SQLite only) Statements: every statement, prepared once per connection
 */
export type { EngineStats } from '../common/stats.js';
export { type ConnectionOptions, openConnection } from './connection.js';
export { toStorageError } from './errors.js';
export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './migrations.js';
export { openSqliteEngine, SqliteEngine, type SqliteEngineOptions } from './sqlite-engine.js';
