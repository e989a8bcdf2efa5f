import type { ConsumeResult, Reminder } from '../core/state-machine.js';
import type { Message } from '../protocol/message.js';

/** What one node tells the others: a consumed message, or a due reminder. */
export type Publication =
  | { readonly kind: 'message'; readonly message: Message; readonly result: ConsumeResult }
  | { readonly kind: 'reminder'; readonly reminder: Reminder };

/**
 * Fan-out between nodes (seed 001, "Fleet"): the node that stored a message publishes it, and
 * every node holding one of the user's devices delivers it. A node subscribes to a user while it
 * holds any of that user's devices. The single-node implementation has nothing to tell.
 */
export interface Publisher {
  publish(p: Publication): Promise<void>;
  subscribe(uid: string): Promise<void>;
  unsubscribe(uid: string): Promise<void>;
  /** Publications from other nodes, for users this node subscribed to. */
  onRemote(handler: (p: Publication) => void): void;
  /**
   * Fan-out was interrupted: devices of these users (null: of every user) may have missed
   * messages and must resync. Called after the interruption ends.
   */
  onResync(handler: (uids: readonly string[] | null) => void): void;
  /** False while fan-out between nodes may be losing messages; readiness reports it. */
  readonly healthy: boolean;
  close(): Promise<void>;
}

/** One node: every device is local, so there is no one to tell. */
export class LocalPublisher implements Publisher {
  readonly healthy = true;
  async publish(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
  onRemote(): void {}
  onResync(): void {}
  async close(): Promise<void> {}
}
