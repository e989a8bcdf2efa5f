/** The PostgreSQL engine. */
export { openPostgresEngine, PostgresEngine, type PostgresEngineOptions } from './postgres-engine.js';
export { MIGRATIONS, type Migration, migrate } from './migrations.js';
export { toStorageError } from './errors.js';
