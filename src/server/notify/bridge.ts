import type { Logger } from '../pipeline.js';
import type { Publication, Publisher } from '../publisher.js';
import { type ChannelListener, type NotifyChannels, notifyKeys } from './channels.js';

/**
 * Wraps the node's Publisher so that, while the node holds any Gregor device of a user (the hubs
 * subscribe and unsubscribe the user on its lane), it also listens on Notify's `notify:<uid>`
 * and hands each payload to `deliver`. Wrapping the Publisher hooks into the hub lifecycle without
 * touching the hubs.
 *
 * @example
 *   const publisher = new NotifyBridgePublisher(redisPublisher, channels, log, (uid, payload) => ...);
 *   const gregord = new Gregord({ config, engine, auth, log, publisher });
 */
export class NotifyBridgePublisher implements Publisher {
  readonly #base: Publisher;
  readonly #channels: NotifyChannels;
  readonly #log: Logger;
  readonly #deliver: (uid: string, payload: Buffer) => void;
  readonly #listeners = new Map<string, ChannelListener>();

  constructor(
    base: Publisher,
    channels: NotifyChannels,
    log: Logger,
    deliver: (uid: string, payload: Buffer) => void,
  ) {
    this.#base = base;
    this.#channels = channels;
    this.#log = log;
    this.#deliver = deliver;
  }

  get healthy(): boolean {
    return this.#base.healthy;
  }

  publish(p: Publication): Promise<void> {
    return this.#base.publish(p);
  }

  async subscribe(uid: string): Promise<void> {
    await this.#base.subscribe(uid);
    if (this.#listeners.has(uid)) return;
    const listener: ChannelListener = (payload) => this.#deliver(uid, payload);
    this.#listeners.set(uid, listener);
    const listening = this.#channels.listen(notifyKeys.user(uid), listener).catch((e: unknown) => {
      this.#log.warn({ err: e, uid }, 'notify: subscribe failed');
    });
    // Like the fan-out: wait for the subscription while Redis is up, never while it is down.
    if (this.#channels.ready) await listening;
  }

  async unsubscribe(uid: string): Promise<void> {
    const listener = this.#listeners.get(uid);
    if (listener) {
      this.#listeners.delete(uid);
      this.#channels.unlisten(notifyKeys.user(uid), listener);
    }
    await this.#base.unsubscribe(uid);
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#base.onRemote(handler);
  }

  onResync(handler: (uids: readonly string[] | null) => void): void {
    this.#base.onResync(handler);
  }

  close(): Promise<void> {
    return this.#base.close();
  }
}
