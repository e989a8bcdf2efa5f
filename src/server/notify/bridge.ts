import { randomUUID } from 'node:crypto';
import type { ConsumeResult } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';
import { parseMessage } from '../../protocol/validate.js';
import type { Extension } from '../extensions/types.js';
import type { Gregord } from '../gregord.js';
import { type ChannelListener, type NotifyChannels, notifyKeys } from './channels.js';

/** The system of the out-of-band messages a Notify publication becomes for Gregor devices. */
export const NOTIFY_SYSTEM = 'notify';

/** Out-of-band messages are not stored: relayed, no seq, nothing dead on arrival. */
const RELAYED: ConsumeResult = { status: 'relayed', seq: null, deadOnArrival: new Map() };

/**
 * The Notify bridge, an extension: while this node holds any Gregor device of a user, it listens
 * on Notify's `notify:<uid>` and delivers each payload to those devices as an out-of-band message
 * of system `notify`, through the one delivery path.
 *
 * @example
 *   createGregor({ extensions: [notifyBridge(new NotifyChannels({ url, log }))] });
 */
export function notifyBridge(channels: NotifyChannels): Extension {
  const listeners = new Map<string, ChannelListener>();
  return {
    name: 'notify-bridge',
    priority: 250,
    async onConnect({ gregor, uid, firstOnNode }) {
      if (!firstOnNode || listeners.has(uid)) return;
      const listener: ChannelListener = (payload) => deliver(gregor, uid, payload);
      listeners.set(uid, listener);
      const listening = channels.listen(notifyKeys.user(uid), listener).catch((e: unknown) => {
        gregor.log.warn({ err: e, uid }, 'notify: subscribe failed');
      });
      // Like the fan-out: wait for the subscription while Redis is up, never while it is down.
      if (channels.ready) await listening;
    },
    onDisconnect({ uid, lastOnNode }) {
      const listener = listeners.get(uid);
      if (!lastOnNode || !listener) return;
      listeners.delete(uid);
      channels.unlisten(notifyKeys.user(uid), listener);
    },
  };
}

function deliver(gregor: Gregord, uid: string, payload: Buffer): void {
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
    gregor.log.warn({ err: e, uid }, 'notify: payload cannot be a Gregor message; not delivered to devices');
    return;
  }
  gregor
    .deliver({ kind: 'message', message, result: RELAYED }, 'notify')
    .catch((e: unknown) => gregor.log.error({ err: e, uid }, 'notify: delivery failed'));
}
