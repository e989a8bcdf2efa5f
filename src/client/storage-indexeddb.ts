import type { StorageAdapter } from './storage.js';

// The project compiles without the DOM lib (a global `/// <reference lib="dom" />` would change the
// types of every file), so this file declares the small part of IndexedDB it uses.
interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbStore {
  get(key: string): IdbRequest<unknown>;
  put(value: string, key: string): IdbRequest<unknown>;
}
interface IdbTransaction {
  error: unknown;
  objectStore(name: string): IdbStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
  onversionchange: (() => void) | null;
  onclose: (() => void) | null;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

const STORE = 'kv';

/**
 * Browsers: keeps the client's mirror and outbox in IndexedDB (database `dbName`, one object
 * store of strings), so a reloaded tab starts from its last state and still sends the changes it
 * made offline. Every tab of an origin shares the database; the client keys its entry by (url,
 * device), so tabs that are different devices never overwrite each other.
 *
 * @example
 *   import { GregorClient } from 'gregor/client';
 *   import { IndexedDBStorage } from 'gregor/client/indexeddb';
 *   const client = new GregorClient({ url, device: 'tab-1', token, storage: new IndexedDBStorage() });
 */
export class IndexedDBStorage implements StorageAdapter {
  readonly #dbName: string;
  #db: Promise<IdbDatabase> | null = null;

  constructor(dbName = 'gregor') {
    this.#dbName = dbName;
  }

  async load(key: string): Promise<string | null> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readonly');
    const value = await request(tx.objectStore(STORE).get(key));
    return typeof value === 'string' ? value : null;
  }

  async save(key: string, value: string): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(value, key);
    // Resolve on the transaction's completion, not the put's success: only then is it committed.
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  #open(): Promise<IdbDatabase> {
    if (this.#db) return this.#db;
    const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
    if (!factory) return Promise.reject(new Error('IndexedDBStorage: indexedDB is not available here'));
    const opening = new Promise<IdbDatabase>((resolve, reject) => {
      const req = factory.open(this.#dbName, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab upgrading the database waits until every open connection closes; let it, and
        // reopen on the next call. The browser may also close the connection (storage cleared).
        db.onversionchange = () => {
          db.close();
          this.#db = null;
        };
        db.onclose = () => {
          this.#db = null;
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
    });
    // A failed open (private mode, quota) is retried on the next call instead of cached forever.
    opening.catch(() => {
      if (this.#db === opening) this.#db = null;
    });
    this.#db = opening;
    return opening;
  }
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}
