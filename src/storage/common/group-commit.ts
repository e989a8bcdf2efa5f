import { isGregorError } from '../../protocol/errors.js';

/**
 * Group commit: concurrent callers share one transaction. While a batch is being written, new
 * calls queue; when it commits, the queue becomes the next batch. At low load a call is written
 * at once (no timer, no added latency); under load batches grow by themselves.
 *
 * One entry can only ever fail itself: when a batch of several entries fails (the database
 * refused something in it, and a failed transaction writes nothing), each entry is written again
 * alone, once, in the original order, and each caller gets its own outcome. Errors that would fail
 * every retry the same way (see `worthRetryingAlone`) fail the whole batch at once instead.
 *
 * @example
 *   const gc = new GroupCommit<Msg, Result>((batch) => db.transaction(() => batch.map(write))());
 *   const result = await gc.submit(msg);
 */
export class GroupCommit<T, R> {
  readonly #write: (batch: readonly T[]) => Promise<readonly R[]> | readonly R[];
  readonly #maxBatch: number;
  readonly #retryAlone: (error: unknown) => boolean;
  #queue: { value: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #running = false;

  /**
   * `write` runs one transaction for the batch and returns one result per entry, in order; it
   * must leave nothing behind when it throws (caches included), since the entries are written again.
   */
  constructor(
    write: (batch: readonly T[]) => Promise<readonly R[]> | readonly R[],
    maxBatch = 512,
    retryAlone: (error: unknown) => boolean = worthRetryingAlone,
  ) {
    this.#write = write;
    this.#maxBatch = maxBatch;
    this.#retryAlone = retryAlone;
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
          if (batch.length === 1 || !this.#retryAlone(e)) {
            for (const b of batch) b.reject(e);
            continue;
          }
          // One at a time, in order: a user's entries keep their order (and their seqs).
          for (const b of batch) {
            try {
              b.resolve((await this.#write([b.value]))[0] as R);
            } catch (alone) {
              b.reject(alone);
            }
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

/**
 * Whether the entries of a failed batch are worth writing again one by one: only when the database
 * refused something in it (a constraint, or another failure of the statement). Not when it is
 * unreachable, closed, full, or timing out, which would fail every retry the same way, slowly,
 * while the lane waits.
 */
export function worthRetryingAlone(error: unknown): boolean {
  if (isGregorError(error, 'STORAGE_CONSTRAINT')) return true;
  if (!isGregorError(error, 'STORAGE_FAILED')) return false;
  return !TIMEOUTS.has(String((error.cause as { code?: unknown } | undefined)?.code ?? ''));
}

/** PostgreSQL's statement timeout and lock-not-available: a retry alone would wait as long again. */
const TIMEOUTS = new Set(['57014', '55P03']);
