/** Where a client keeps its mirror and outbox between runs: one JSON string per key. */
export interface StorageAdapter {
  load(key: string): Promise<string | null>;
  save(key: string, value: string): Promise<void>;
}

/**
 * Keeps nothing across runs (the default): a restarted client resyncs in full and loses changes it
 * made offline. Use IndexedDBStorage in browsers and FileStorage in Node to keep them.
 *
 * @example
 *   new GregorClient({ url, device, token, storage: new MemoryStorage() });
 */
export class MemoryStorage implements StorageAdapter {
  readonly #values = new Map<string, string>();

  async load(key: string): Promise<string | null> {
    return this.#values.get(key) ?? null;
  }

  async save(key: string, value: string): Promise<void> {
    this.#values.set(key, value);
  }
}
