import { randomUUID } from 'node:crypto';
import type { ConsumeResult } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';
import { parseMessage } from '../../protocol/validate.js';
import type { Gregord } from '../gregord.js';
import type { Logger } from '../pipeline.js';
import type { Publisher } from '../publisher.js';
import { NotifyBridgePublisher } from './bridge.js';
import { NotifyChannels } from './channels.js';
import { NotifySockets } from './sockets.js';

export { NOTIFY_WS_PATH, NotifySockets, type NotifyUpgrade } from './sockets.js';
export { registerNotifyRoutes, TWIRP_AUTH_PATH } from './twirp.js';

/** The system of the out-of-band messages a Notify publication becomes for Gregor devices. */
export const NOTIFY_SYSTEM = 'notify';

/** Out-of-band messages are not stored: relayed, no seq, nothing dead on arrival. */
const RELAYED: ConsumeResult = { status: 'relayed', seq: null, deadOnArrival: new Map() };

/**
 * Notify compatibility for one node (needs Redis): `/notify/ws` sockets, and each `PUBLISH
 * notify:<uid>` delivered to this node's Gregor devices of that user as an out-of-band message
 * of system `notify`. Build it before Gregord (its publisher wraps the node's), then `attach`.
 *
 * @example
 *   const notify = new Notify({ url: config.redisUrl, log });
 *   const gregord = new Gregord({ ..., publisher: notify.wrap(publisher) });
 *   const sockets = notify.attach(gregord); // hand to the WebSocket gateway
 *   // on stop: notify.close()
 */
export class Notify {
  readonly channels: NotifyChannels;
  readonly #log: Logger;
  #gregord: Gregord | null = null;
  #sockets: NotifySockets | null = null;

  constructor(options: { url: string; log: Logger }) {
    this.#log = options.log;
    this.channels = new NotifyChannels(options);
  }

  /** The node's publisher, also listening on `notify:<uid>` while a Gregor device of uid is here. */
  wrap(publisher: Publisher): Publisher {
    return new NotifyBridgePublisher(publisher, this.channels, this.#log, (uid, payload) =>
      this.#deliver(uid, payload),
    );
  }

  /** Binds the core; returns the `/notify/ws` handler for the WebSocket gateway. */
  attach(gregord: Gregord): NotifySockets {
    this.#gregord = gregord;
    this.#sockets = new NotifySockets(gregord, this.channels);
    return this.#sockets;
  }

  close(): void {
    this.#sockets?.terminate();
    this.channels.close();
  }

  #deliver(uid: string, payload: Buffer): void {
    const gregord = this.#gregord;
    if (!gregord) return;
    const text = payload.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    let message: Message;
    try {
      // A fresh ID: two identical Notify payloads are two events, not one message sent twice.
      message = parseMessage(
        { id: `notify.${randomUUID()}`, system: NOTIFY_SYSTEM, body },
        { uid, now: Date.now() },
      );
    } catch (e) {
      this.#log.warn({ err: e, uid }, 'notify: payload cannot be a Gregor message; not delivered to devices');
      return;
    }
    gregord.lanes
      .run(uid, () => gregord.hubs.deliver(message, RELAYED))
      .catch((e: unknown) => this.#log.error({ err: e, uid }, 'notify: delivery failed'));
  }
}
