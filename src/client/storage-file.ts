import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageAdapter } from './storage.js';

/**
 * Node only: keeps the client's mirror and outbox in a directory, one file per key, replaced
 * atomically (write, then rename), so a crash mid-save leaves the previous copy intact.
 *
 * @example
 *   import { FileStorage } from 'gregor/client/file-storage';
 *   new GregorClient({ url, device, token, storage: new FileStorage('./gregor-client'), WebSocket });
 */
export class FileStorage implements StorageAdapter {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async load(key: string): Promise<string | null> {
    try {
      return await readFile(this.#path(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async save(key: string, value: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const path = this.#path(key);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, value);
    await rename(temp, path);
  }

  #path(key: string): string {
    return join(this.#dir, `${encodeURIComponent(key)}.json`);
  }
}
