import type { Logger } from '../pipeline.js';
import { notifyBridge } from './bridge.js';
import { NotifyChannels } from './channels.js';

export { NOTIFY_SYSTEM, notifyBridge } from './bridge.js';
export { NotifyChannels } from './channels.js';
export { fromGregorUid, notifyIdOf, notifyUserId, toGregorUid } from './identity.js';
export { NOTIFY_WS_PATH, NotifySockets, type NotifyUpgrade } from './sockets.js';
export { notifyTwirp, TWIRP_AUTH_PATH } from './twirp.js';
export { notifyWsRoute } from './ws-route.js';

/**
 * Notify compatibility for one node (needs Redis): the bridge extension (Notify publications to
 * Gregor devices), and the Redis connections behind it and behind `/notify/ws`.
 *
 * @example
 *   const notify = new Notify({ url: config.redisUrl, log });
 *   createGregor({ extensions: [notify.bridge] }); // the library does this when redis-url is set
 *   // on stop: notify.close()
 */
export class Notify {
  readonly channels: NotifyChannels;
  readonly bridge;

  constructor(options: { url: string; log: Logger }) {
    this.channels = new NotifyChannels(options);
    this.bridge = notifyBridge(this.channels);
  }

  close(): void {
    this.channels.close();
  }
}
