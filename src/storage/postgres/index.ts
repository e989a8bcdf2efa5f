/** The PostgreSQL engine. */

export { toStorageError } from './errors.js';
export { MIGRATIONS, type Migration, migrate } from './migrations.js';
export { openPostgresEngine, PostgresEngine, type PostgresEngineOptions } from './postgres-engine.js';
