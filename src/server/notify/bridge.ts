import { randomUUID } from 'node:crypto';
import type { ConsumeResult } from '../../core/state-machine.js';
import type { Message } from '../../protocol/message.js';
import { parseMessage } from '../../protocol/validate.js';
import type { Extension, GregorContext } from '../extensions/types.js';
import { type ChannelListener, type NotifyChannels, notifyKeys } from './channels.js';
import { fromGregorUid } from './identity.js';

/** The system of the out-of-band messages a Notify publication becomes for Gregor devices. */
export const NOTIFY_SYSTEM = 'notify';

/** Out-of-band messages are not stored: relayed, no seq, nothing dead on arrival. */
const RELAYED: ConsumeResult = { status: 'relayed', seq: null, deadOnArrival: new Map() };

/**
 * The Notify bridge, an extension: while this node holds any Gregor device of a user, it listens
 * on Notify's `notify:<id>` (`id` is the user's Notify ID, `fromGregorUid(uid)`) and delivers each
 * payload to those devices as an out-of-band message of system `notify`, through the one delivery
 * path. A payload that cannot be such a message (too large, or refused) is dropped for Gregor
 * devices loudly: a warning and `gregor_notify_bridge_dropped_total{reason}`. It goes one way
 * only: Gregor's own messages never reach Notify sockets.
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
      const notifyId = fromGregorUid(uid);
      // A Gregor user ID starting with `~` that is no encoding of a Notify ID has no Notify channel.
      if (notifyId === null) return;
      const listener: ChannelListener = (payload) => deliver(gregor, uid, payload);
      listeners.set(uid, listener);
      const listening = channels.listen(notifyKeys.user(notifyId), listener).catch((e: unknown) => {
        gregor.log.warn({ err: e, uid }, 'notify: subscribe failed');
      });
      // Like the fan-out: wait for the subscription while Redis is up, never while it is down.
      if (channels.ready) await listening;
    },
    onDisconnect({ uid, lastOnNode }) {
      const listener = listeners.get(uid);
      if (!lastOnNode || !listener) return;
      listeners.delete(uid);
      channels.unlisten(notifyKeys.user(fromGregorUid(uid)!), listener);
    },
  };
}

function deliver(gregor: GregorContext, uid: string, payload: Buffer): void {
  const limit = gregor.config.maxMessageBytes;
  if (payload.length > limit) {
    drop(gregor, uid, payload, 'too_large', `over max-message-bytes (${limit})`);
    return;
  }
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
    drop(gregor, uid, payload, 'refused', (e as Error).message);
    return;
  }
  gregor
    .deliver({ kind: 'message', message, result: RELAYED }, 'notify')
    .catch((e: unknown) => gregor.log.error({ err: e, uid }, 'notify: delivery failed'));
}

/** Says that a payload reached Notify sockets but not the user's Gregor devices, and why. */
function drop(gregor: GregorContext, uid: string, payload: Buffer, reason: string, why: string): void {
  gregor.metrics.notifyBridgeDropped.inc({ reason });
  gregor.log.warn(
    { uid, bytes: payload.length, reason },
    `notify: a payload on notify:${fromGregorUid(uid)} (${payload.length} bytes) was not delivered to Gregor devices: ${why}`,
  );
}
