import { join } from 'node:path';
import type { Engine } from '../core/state-machine.js';
import { MemoryEngine } from '../storage/memory/memory-engine.js';
import { openPostgresEngine } from '../storage/postgres/index.js';
import { openShardedEngine } from '../storage/sharded/index.js';
import { openSqliteEngine } from '../storage/sqlite/index.js';
import type { Config } from './config.js';

/** Opens the storage engine the configuration names; the core never names a backend. */
export async function openEngine(config: Config): Promise<Engine> {
  switch (config.storage) {
    case 'memory':
      return new MemoryEngine();
    case 'sqlite':
      return openSqliteEngine({
        path: config.sqlitePath ?? join(config.dataDir, 'gregor.sqlite'),
        synchronous: config.sqliteSynchronous,
      });
    case 'postgres':
      if (config.postgresShards.length > 0) return openShardedEngine({ shards: [...config.postgresShards] });
      return openPostgresEngine({ connectionString: config.postgresUrl! });
  }
}
