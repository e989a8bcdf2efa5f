import type { HiddenScopes } from '../core/project.js';
import { projectForDevice } from '../core/project.js';
import type { ConsumeResult, Reminder } from '../core/state-machine.js';
import { CLOSE } from '../protocol/close-codes.js';
import { GregorError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import { itemToWire, messageToWire } from '../protocol/message.js';
import { toWireTime } from '../protocol/time.js';
import type { DeviceConnection } from './device.js';
import type { Metrics } from './metrics.js';

/**
 * The per-user hubs of this node: each user's connected devices. Attach and detach are called on
 * the user's lane (see Lanes), so the first device's hooks (the fan-out subscribes there) and the
 * last one's never race each other.
 */
export class Hubs {
  readonly #hubs = new Map<string, Map<string, DeviceConnection>>();
  readonly #metrics: Metrics;
  readonly #maxDevicesPerUser: number;

  constructor(metrics: Metrics, maxDevicesPerUser: number) {
    this.#metrics = metrics;
    this.#maxDevicesPerUser = maxDevicesPerUser;
  }

  /**
   * Adds a device; a connection of the same device replaces the old one. Returns whether it is
   * the user's first device here. Call on the user's lane.
   */
  attach(conn: DeviceConnection): { firstOnNode: boolean } {
    let hub = this.#hubs.get(conn.uid);
    const replaced = hub?.get(conn.device);
    if (hub && !replaced && hub.size >= this.#maxDevicesPerUser) {
      throw new GregorError('TOO_MANY_CONNECTIONS', `the user has ${hub.size} connections, the limit`);
    }
    const firstOnNode = !hub;
    if (!hub) {
      hub = new Map();
      this.#hubs.set(conn.uid, hub);
      this.#metrics.users.inc();
    }
    replaced?.close(CLOSE.REPLACED, 'a newer connection of this device replaced this one');
    hub.set(conn.device, conn);
    return { firstOnNode };
  }

  /**
   * Removes a device (a replaced one is already gone); returns whether the user has no device
   * left here. Call on the user's lane.
   */
  detach(conn: DeviceConnection): { lastOnNode: boolean } {
    const hub = this.#hubs.get(conn.uid);
    if (hub?.get(conn.device) !== conn) return { lastOnNode: false };
    hub.delete(conn.device);
    if (hub.size > 0) return { lastOnNode: false };
    this.#hubs.delete(conn.uid);
    this.#metrics.users.dec();
    return { lastOnNode: true };
  }

  devices(uid: string): DeviceConnection[] {
    return [...(this.#hubs.get(uid)?.values() ?? [])];
  }

  everyDevice(): DeviceConnection[] {
    return [...this.#hubs.values()].flatMap((hub) => [...hub.values()]);
  }

  get userCount(): number {
    return this.#hubs.size;
  }

  /**
   * Delivers a consumed message to this node's devices of its user, projected per device; each
   * distinct projection is serialised once, however many devices share it. Returns the devices
   * it was sent to.
   */
  deliver(m: Message, result: ConsumeResult): number {
    const hub = this.#hubs.get(m.md.uid);
    if (!hub) return 0;
    const hidden: HiddenScopes = (item) => result.deadOnArrival.get(item.id) ?? [];
    const frames = new Map<object, Uint8Array>();
    let deliveries = 0;
    for (const conn of hub.values()) {
      const projected = m.kind === 'oob' ? m : projectForDevice(m, conn.device, hidden);
      if (!projected) continue;
      let frame = frames.get(projected);
      if (frame === undefined) {
        const wire = messageToWire(projected);
        const message = result.seq === null ? wire : { ...wire, seq: result.seq };
        frame = Buffer.from(JSON.stringify({ type: 'message', message }));
        frames.set(projected, frame);
      }
      conn.deliver(frame, result.seq);
      deliveries++;
    }
    this.#metrics.deliveries.inc(deliveries);
    return deliveries;
  }

  /**
   * Shows a due reminder on the devices its item is for (a device that dismissed the item ignores
   * it). Returns the devices it was sent to.
   */
  deliverReminder(r: Reminder): number {
    const hub = this.#hubs.get(r.uid);
    if (!hub) return 0;
    const frame = Buffer.from(
      JSON.stringify({
        type: 'reminder',
        item_id: r.item.id,
        remind_at: toWireTime(r.remindAt),
        item: itemToWire(r.item),
      }),
    );
    let sent = 0;
    for (const conn of hub.values()) {
      if (r.item.forDevice !== null && r.item.forDevice !== conn.device) continue;
      conn.deliver(frame, null);
      sent++;
    }
    return sent;
  }
}
