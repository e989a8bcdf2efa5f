/** The Gregor client SDK: browser and Node (pass `ws` as WebSocket in Node 20). No Node-only imports. */
export { Backoff } from './backoff.js';
export { type ClientOptions, GregorClient } from './client.js';
export { Emitter } from './emitter.js';
export { MemoryStorage, type StorageAdapter } from './storage.js';
export type {
  Ack,
  ClientEvents,
  ClientItem,
  ConnectionState,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
