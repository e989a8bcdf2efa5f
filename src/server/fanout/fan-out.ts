import type { ConsumeResult, Reminder } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';

/** What one node tells the others: a consumed message, or a due reminder. */
export type Publication =
  | { readonly kind: 'message'; readonly message: Message; readonly result: ConsumeResult }
  | { readonly kind: 'reminder'; readonly reminder: Reminder };

/**
 * Fan-out between nodes (seed 001, "Fleet"): the node that stored a message publishes it, and
 * every node holding one of the user's devices delivers it. A node subscribes to a user while it
 * holds any of that user's devices. One backend per folder (memory/, redis/, nats/); `openFanOut`
 * picks one from the configuration, and the core never names a backend.
 *
 * @example
 *   const fanOut = openFanOut(config, log);
 *   fanOut.onRemote((p) => deliver(p));
 *   fanOut.onResync((uids) => closeDevicesForResync(uids));
 *   await fanOut.subscribe('alice');                   // alice's first device on this node
 *   await fanOut.publish({ kind: 'message', message, result }); // resolves with how many nodes got it
 */
export interface FanOut {
  /** Backend name for logs/metrics: 'memory' | 'redis' | 'redis-cluster' | 'nats'. */
  readonly name: string;
  /**
   * Sends p to the other nodes subscribed to its user. Resolves with how many other nodes
   * received it (Redis: PUBLISH's answer; NATS: 0 on "no responders", otherwise >= 1; memory:
   * other subscribed nodes), or null when the backend cannot tell. Calls are sent in call order
   * (callers may not await between calls). Rejects when it could not be sent; the backend then
   * remembers the uid and, once it can publish again, tells the other nodes to resync that
   * user's devices.
   */
  publish(p: Publication): Promise<number | null>;
  /**
   * Listen for the user's publications (called when this node gets its first device of uid).
   * While the backend is up, resolves once the subscription is active; while down, never waits.
   */
  subscribe(uid: string): Promise<void>;
  unsubscribe(uid: string): Promise<void>;
  /**
   * Whether any OTHER node is subscribed to uid right now (null: cannot tell). Used for "first/last
   * device of the user in the fleet".
   */
  present(uid: string): Promise<boolean | null>;
  /** Publications from other nodes (never this node's own). */
  onRemote(handler: (p: Publication) => void): void;
  /**
   * Fan-out was interrupted: devices of these users (null: of every user) may have missed messages
   * and must resync. Called after the interruption ends.
   */
  onResync(handler: (uids: readonly string[] | null) => void): void;
  /** False while fan-out may be losing messages (readiness goes red). */
  readonly healthy: boolean;
  /** Safe to call twice. */
  close(): Promise<void>;
}

/** The part of a logger (pino's) that a backend calls: declared here so no backend imports the server's. */
export interface FanOutLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The user a publication is about: it picks the channel or subject. */
export function publicationUid(p: Publication): string {
  return p.kind === 'message' ? p.message.md.uid : p.reminder.uid;
}
