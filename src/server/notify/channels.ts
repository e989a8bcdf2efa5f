import { Redis } from 'ioredis';
import type { Logger } from '../pipeline.js';

/** Called with the raw bytes of each publication on a channel. */
export type ChannelListener = (payload: Buffer) => void;

interface Channel {
  readonly listeners: Set<ChannelListener>;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  readonly subscribed: Promise<void>;
}

/** Notify's fixed key names: a user's broadcast channel, state hash, and a shared topic. */
export const notifyKeys = {
  user: (uid: string) => `notify:${uid}`,
  state: (uid: string) => `notify:${uid}:state`,
  topic: (topic: string) => `notify_topic:${topic}`,
};

/**
 * One node's Redis side of Notify compatibility: a single shared subscriber connection with a
 * reference count per channel (SUBSCRIBE on the first listener, UNSUBSCRIBE after the last), and a
 * single command connection for HGETALL. Notify opened a Redis connection per socket; this keeps
 * Redis load flat however many sockets a node holds.
 *
 * @example
 *   const channels = new NotifyChannels({ url: 'redis://127.0.0.1:6379', log });
 *   await channels.listen('notify:42', (payload) => ws.send(payload, { binary: false }));
 *   const state = await channels.state('42'); // { unread_messages: '1' }
 */
export class NotifyChannels {
  readonly #sub: Redis;
  readonly #cmd: Redis;
  readonly #channels = new Map<string, Channel>();
  readonly #log: Logger;
  #wasDown = false;
  #resubscribed: () => void = () => {};

  constructor(options: { url: string; log: Logger }) {
    this.#log = options.log;
    // The subscriber retries forever: a listener waits for its subscription rather than failing.
    this.#sub = new Redis(options.url, { autoResubscribe: true, maxRetriesPerRequest: null });
    this.#cmd = new Redis(options.url, { maxRetriesPerRequest: 1 });
    this.#sub.on('error', () => {});
    this.#cmd.on('error', () => {});
    this.#sub.on('close', () => {
      this.#wasDown = true;
    });
    this.#sub.on('ready', () => {
      if (!this.#wasDown) return;
      this.#wasDown = false;
      this.#log.warn({}, 'notify: redis subscription back; publications may have been missed');
      this.#resubscribed();
    });
    this.#sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      const entry = this.#channels.get(channel.toString());
      if (entry) for (const listener of [...entry.listeners]) listener(payload);
    });
  }

  /** True while the subscriber connection is up. */
  get ready(): boolean {
    return this.#sub.status === 'ready';
  }

  /** Number of channels this node is subscribed to (for tests and metrics). */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Called when the subscription returns after an outage (listeners may have missed payloads). */
  onResubscribed(handler: () => void): void {
    this.#resubscribed = handler;
  }

  /** Adds a listener; resolves once Redis has confirmed the channel's subscription. */
  async listen(channel: string, listener: ChannelListener): Promise<void> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      const listeners = new Set<ChannelListener>();
      const subscribed = this.#sub.subscribe(channel).then(
        () => {},
        (e: unknown) => {
          // A failed entry must not poison later listeners: the next one subscribes afresh.
          if (this.#channels.get(channel)?.listeners === listeners) this.#channels.delete(channel);
          throw e;
        },
      );
      entry = { listeners, subscribed };
      this.#channels.set(channel, entry);
    }
    entry.listeners.add(listener);
    await entry.subscribed;
  }

  /** Removes a listener; the last one unsubscribes the channel. */
  unlisten(channel: string, listener: ChannelListener): void {
    const entry = this.#channels.get(channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.#channels.delete(channel);
    // Commands on one connection run in order, so a later SUBSCRIBE of the same channel wins.
    this.#sub.unsubscribe(channel).catch(() => {});
  }

  /** `HGETALL notify:<uid>:state`: a flat string map, empty when the key does not exist. */
  state(uid: string): Promise<Record<string, string>> {
    return this.#cmd.hgetall(notifyKeys.state(uid));
  }

  close(): void {
    this.#sub.disconnect();
    this.#cmd.disconnect();
  }
}
