/**
 * `gregor/server`: Gregor as a library. Create a server with `createGregor`, extend it with
 * extensions, and serve it on its own port, inside a Fastify app, or on a `node:http` server.
 * docs/server.md explains the flow of a message and a connection, and the order of the hooks.
 *
 * @example
 *   import { createGregor, type Extension } from 'gregor/server';
 *   const gregor = await createGregor({ settings: { storage: 'postgres', postgresUrl }, extensions: [mine] });
 *   await app.register(gregor.plugin);
 */

export type { ConsumeResult, Engine, Reminder, State } from '../core/state-machine.js';
export { CLOSE } from '../protocol/close-codes.js';
export { ERROR_CODES, type ErrorKind, GregorError, isGregorError } from '../protocol/errors.js';
export type { Message } from '../protocol/message.js';
export { parseMessage } from '../protocol/validate.js';
export { MemoryEngine } from '../storage/memory/memory-engine.js';
export { openPostgresEngine } from '../storage/postgres/index.js';
export { openSqliteEngine } from '../storage/sqlite/index.js';
export { Authenticator, type Principal, SERVICE_SCOPE } from './auth.js';
export type { Config } from './config.js';
export type * from './extensions/types.js';
export type { FanOut, Publication } from './fanout/fan-out.js';
export { MemoryBus, MemoryFanOut } from './fanout/memory/index.js';
export { NatsFanOut } from './fanout/nats/index.js';
export { RedisFanOut } from './fanout/redis/index.js';
export type { ConnectedDevice, Consumed, Gregord, Readiness, StoreReader } from './gregord.js';
export { createGregor, Gregor, type GregorOptions, type MountOptions, type Settings } from './library.js';
export type { Logger } from './pipeline.js';
