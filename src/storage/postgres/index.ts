/**
 * The PostgreSQL storage engine: durable, group-committed, safe for several processes on one database.
 *
 * The SQLite engine (../sqlite) has the same files, names and result types; what both share is
 * in ../common (the file of the same name).
 *
 *   postgres-engine.ts  PostgresEngine, openPostgresEngine: the Engine interface, over the files below
 *   connection.ts       openConnection: the pool, opened with its schema migrated; inTransaction
 *   migrations.ts       MIGRATIONS, SCHEMA_VERSION, migrate: the schema, as numbered steps
 *   errors.ts           toStorageError: PostgreSQL and connection failures as GregorErrors
 *   ingest-queue.ts     IngestQueue: group commit (lanes of GroupCommit, one transaction in flight each)
 *   consume.ts          writeBatch: a batch of messages in one transaction, one Outcome per message
 *   replicas.ts         currentUser, cachedUser: users' replicas from the rows, through the ReplicaCache
 *   messages.ts         messagesAfter, messagesSince: reading a user's log
 *   reminders.ts        claimDueReminders, completeReminders: leases on due reminders
 *   compact.ts          compactUser: one user's compaction in one transaction
 *   batch-rows.ts       (PostgreSQL only) BatchRows: a whole batch's rows written by one statement
 */
export type { EngineStats } from '../common/stats.js';
export { type ConnectionOptions, openConnection } from './connection.js';
export { toStorageError } from './errors.js';
export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './migrations.js';
export { openPostgresEngine, PostgresEngine, type PostgresEngineOptions } from './postgres-engine.js';
