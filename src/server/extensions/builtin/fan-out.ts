import { CLOSE } from '../../../protocol/close-codes.js';
import type { FanOut } from '../../fanout/fan-out.js';
import type { Extension } from '../types.js';

/**
 * Connects the node to the others through a fan-out backend (seed 001, "Fleet"): it subscribes
 * to a user while the node holds one of the user's devices, publishes what the node stores and
 * the reminders it claims, hands other nodes' publications to `gregor.deliver`, and closes
 * devices with 4007 (reconnect and resync) after fan-out was interrupted. Publishing is not
 * awaited on the user's lane; the backend sends in call order.
 */
export function fanOutExtension(fanout: FanOut): Extension {
  return {
    name: 'fan-out',
    priority: 300,
    onListen({ gregor }) {
      fanout.onRemote((p) => {
        gregor
          .deliver(p, 'remote')
          .catch((e: unknown) => gregor.log.error({ err: e }, 'remote delivery failed'));
      });
      fanout.onResync((uids) => {
        const reason = 'fan-out was interrupted: reconnect and resync';
        if (uids === null) gregor.closeDevices(null, CLOSE.RESYNC, reason);
        else for (const uid of uids) gregor.closeDevices({ uid }, CLOSE.RESYNC, reason);
      });
    },
    // Before the device syncs (the hook runs on the user's lane), so no message falls between.
    async onConnect({ uid, firstOnNode }) {
      if (firstOnNode) await fanout.subscribe(uid);
    },
    async onDisconnect({ uid, lastOnNode }) {
      if (lastOnNode) await fanout.unsubscribe(uid);
    },
    afterStore({ gregor, message, result, reached }) {
      const sent = fanout.publish({ kind: 'message', message, result });
      sent.catch((e: unknown) => gregor.log.warn({ err: e, uid: message.md.uid }, 'fan-out publish failed'));
      reached(sent);
    },
    onReminder({ gregor, reminder }) {
      fanout
        .publish({ kind: 'reminder', reminder })
        .catch((e: unknown) => gregor.log.warn({ err: e, uid: reminder.uid }, 'reminder publish failed'));
    },
  };
}
