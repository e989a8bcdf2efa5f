/**
 * Full-jitter exponential backoff: the n-th retry waits a random time in [0, min(max, min·2^n)],
 * so a fleet of clients cut off at once does not come back at once.
 *
 * @example
 *   const b = new Backoff(500, 30_000); setTimeout(retry, b.next()); b.reset();
 */
export class Backoff {
  readonly #min: number;
  readonly #max: number;
  #attempt = 0;

  constructor(minMs = 500, maxMs = 30_000) {
    this.#min = minMs;
    this.#max = maxMs;
  }

  next(): number {
    const ceiling = Math.min(this.#max, this.#min * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(Math.random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
