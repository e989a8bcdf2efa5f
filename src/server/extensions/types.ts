import type { IncomingHttpHeaders } from 'node:http';
import type { ConsumeResult, Reminder } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';
import type { Principal } from '../auth.js';
import type { Publication } from '../fanout/fan-out.js';
import type { Gregord } from '../gregord.js';

type Awaitable<T> = T | Promise<T>;

/**
 * What an extension may do with the server: the facade's entries, its devices and its reads. The
 * lifecycle (attach, sync, start, shutdown) stays with the transports.
 */
export type GregorContext = Pick<
  Gregord,
  | 'config'
  | 'log'
  | 'metrics'
  | 'store'
  | 'draining'
  | 'deviceCount'
  | 'userCount'
  | 'authenticate'
  | 'consume'
  | 'deliver'
  | 'deliverOnLane'
  | 'remind'
  | 'devices'
  | 'closeDevices'
  | 'readiness'
>;

/** Every hook payload carries the server, so an extension can act (consume, deliver, disconnect). */
interface WithServer {
  readonly gregor: GregorContext;
}

/** Where a request or a message came in. */
export type Transport = 'websocket' | 'http' | 'notify';

export interface ListenPayload extends WithServer {
  /** `http://host:port` of the listening server, when Gregor knows it. */
  readonly url: string | null;
}

export interface AuthenticatePayload extends WithServer {
  /** The credential as sent: a header's `Bearer …`, a cookie's value, an `auth` frame's token. */
  readonly token: string;
  readonly transport: Transport;
  readonly headers: IncomingHttpHeaders;
  /** Who the hooks that ran before decided the caller is; null until one did. */
  readonly principal: Principal | null;
}

export interface ConnectPayload extends WithServer {
  readonly uid: string;
  readonly device: string;
  readonly principal: Principal;
  /** The user had no other device on this node. */
  readonly firstOnNode: boolean;
  /** The user has no other device on any node (null: the fan-out backend cannot tell). Asks the fan-out. */
  firstInFleet(): Promise<boolean | null>;
}

export interface DisconnectPayload extends WithServer {
  readonly uid: string;
  readonly device: string;
  /** The user has no device left on this node. */
  readonly lastOnNode: boolean;
  /** The user has no device left on any node (null: cannot tell). Asks the fan-out. */
  lastInFleet(): Promise<boolean | null>;
}

export interface BeforeConsumePayload extends WithServer {
  /** The message as validated; a hook may return a changed one (same user) to store instead. */
  readonly message: Message;
  /** `http`, `websocket`, or what an embedder passed to `gregor.consume`. */
  readonly source: string;
  /** Who sent it; null for messages an embedder or an extension consumes itself. */
  readonly principal: Principal | null;
}

export interface AfterStorePayload extends WithServer {
  readonly message: Message;
  readonly result: ConsumeResult;
  readonly source: string;
  /**
   * Reports how many devices (or nodes holding devices) this message reached: a number, or a
   * promise of one (null: unknown). When every report is 0, `onUndelivered` fires.
   */
  reached(count: number | Promise<number | null>): void;
}

export interface DeliverPayload extends WithServer {
  readonly publication: Publication;
  readonly uid: string;
  /** Devices on this node it was sent to (at least 1). */
  readonly devices: number;
  /** `local`: stored on this node; `remote`: from another node; `notify`: a Notify publication. */
  readonly origin: DeliveryOrigin;
}

export type DeliveryOrigin = 'local' | 'remote' | 'notify';

export interface UndeliveredPayload extends WithServer {
  readonly message: Message;
  readonly result: ConsumeResult;
}

export interface ReminderPayload extends WithServer {
  readonly reminder: Reminder;
}

export type ShutdownPayload = WithServer;

/**
 * An extension (hocuspocus-style): a name, a priority, and any of the hooks. Hooks of all
 * extensions run in priority order (higher first; equal priorities in the order given). A hook
 * that throws a GregorError refuses where refusing makes sense (onAuthenticate, onConnect,
 * beforeConsume): the client gets that error's code. Elsewhere a throw is logged and the other
 * hooks still run. docs/server.md gives the order of hooks for a connection and for a message.
 *
 * @example
 *   const audit: Extension = {
 *     name: 'audit',
 *     beforeConsume({ message }) {
 *       if (message.md.system === 'billing') throw new GregorError('FORBIDDEN', 'billing is read-only');
 *     },
 *     onUndelivered({ message }) { queueEmail(message); },
 *   };
 *   const gregor = await createGregor({ extensions: [audit] });
 */
export interface Extension {
  readonly name: string;
  /** Higher runs first; 100 unless set. Built-ins: docs/server.md. */
  readonly priority?: number;
  /** The server listens (or was attached to a listening server): start loops here. */
  onListen?(payload: ListenPayload): Awaitable<void>;
  /** Return a Principal to decide who the caller is (replacing what ran before); throw to refuse. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook with no return statement returns void
  onAuthenticate?(payload: AuthenticatePayload): Awaitable<Principal | undefined | void>;
  /** A device joined its user's hub; runs on the user's lane before the device syncs. Throw to refuse. */
  onConnect?(payload: ConnectPayload): Awaitable<void>;
  /** A device left (also after a refused onConnect); runs on the user's lane. */
  onDisconnect?(payload: DisconnectPayload): Awaitable<void>;
  /** Before the store: return a replacement message, or throw to refuse. Runs off the lane. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook with no return statement returns void
  beforeConsume?(payload: BeforeConsumePayload): Awaitable<Message | undefined | void>;
  /** After the store (not for duplicates); runs on the user's lane. */
  afterStore?(payload: AfterStorePayload): Awaitable<void>;
  /** A publication was sent to devices on this node. Synchronous and on the hot path: keep it cheap. */
  onDeliver?(payload: DeliverPayload): void;
  /** A stored or relayed message reached no device of its user on any node; fires once, on the storing node. */
  onUndelivered?(payload: UndeliveredPayload): Awaitable<void>;
  /** A due reminder was claimed by this node (once in the fleet). */
  onReminder?(payload: ReminderPayload): Awaitable<void>;
  /** The server is shutting down, after devices were closed and queued work drained. */
  onShutdown?(payload: ShutdownPayload): Awaitable<void>;
}

export type HookName = Exclude<keyof Extension, 'name' | 'priority'>;

/** Every hook, in the order of a server's life (read by name, so class methods count too). */
export const HOOK_NAMES = [
  'onListen',
  'onAuthenticate',
  'onConnect',
  'onDisconnect',
  'beforeConsume',
  'afterStore',
  'onDeliver',
  'onUndelivered',
  'onReminder',
  'onShutdown',
] as const satisfies readonly HookName[];

// A hook added to Extension but not to HOOK_NAMES would never run: this fails to compile then.
const everyHook: Exclude<HookName, (typeof HOOK_NAMES)[number]> extends never ? true : never = true;
void everyHook;
