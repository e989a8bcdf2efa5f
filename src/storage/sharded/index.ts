/** The UID-sharded PostgreSQL engine. */
export { Rendezvous } from './rendezvous.js';
export {
  openShardedEngine,
  ShardedEngine,
  type ShardedEngineOptions,
  type ShardSpec,
  shardName,
} from './sharded-engine.js';
