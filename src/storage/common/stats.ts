// What both SQL engines expose as `stats`.

/** Counters since the engine opened, for tests and benchmarks. */
export interface EngineStats {
  /** Write transactions run by consumeMessage (each commits a batch; a retry alone is one more). */
  readonly consumeTransactions: number;
  /** Messages written through those transactions (including duplicates and refusals). */
  readonly consumedMessages: number;
  /** Replicas loaded from the tables because the cache had none current. */
  readonly replicaLoads: number;
}
