/**
 * Serialises work per key: `run(uid, fn)` starts `fn` after every earlier call for the same
 * uid has settled. This is the per-user worker of seed 003: a user's connects, disconnects,
 * consumes and syncs never interleave, so the last disconnect can never race a new connect.
 * Lanes are removed when idle, so memory follows the number of busy users.
 *
 * @example
 *   await lanes.run('alice', () => hub.attach(conn));
 */
export class Lanes {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#tails.get(key);
    const next = prev ? prev.then(fn, fn) : Promise.resolve().then(fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** Resolves when every lane queued so far has settled. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }
}
