/**
 * Group commit: concurrent callers share one transaction. While a batch is being written, new
 * calls queue; when it commits, the queue becomes the next batch. At low load a call is written
 * at once (no timer, no added latency); under load batches grow by themselves.
 * Each caller is settled only after its own batch: a failed batch fails exactly its callers.
 *
 * @example
 *   const gc = new GroupCommit<Msg, Result>((batch) => db.transaction(() => batch.map(write))());
 *   const result = await gc.submit(msg);
 */
export class GroupCommit<T, R> {
  readonly #write: (batch: readonly T[]) => Promise<readonly R[]> | readonly R[];
  readonly #maxBatch: number;
  #queue: { value: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #running = false;

  /** `write` runs one transaction for the batch and returns one result per entry, in order. */
  constructor(write: (batch: readonly T[]) => Promise<readonly R[]> | readonly R[], maxBatch = 512) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  submit(value: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ value, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#write(batch.map((b) => b.value));
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] as R);
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
