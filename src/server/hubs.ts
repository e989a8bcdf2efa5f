import type { HiddenScopes } from '../core/project.js';
import { projectForDevice } from '../core/project.js';
import type { ConsumeResult, Reminder } from '../core/state-machine.js';
import { CLOSE } from '../protocol/close-codes.js';
import { GregorError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import { itemToWire, messageToWire } from '../protocol/message.js';
import type { DeviceConnection } from './device.js';
import type { Metrics } from './metrics.js';
import type { Publisher } from './publisher.js';

/**
 * The per-user hubs of this node: each user's connected devices. Attach and detach are called on
 * the user's lane (see Lanes), so a hub is created and subscribed on the first connection and
 * destroyed and unsubscribed after the last without racing a new one.
 */
export class Hubs {
  readonly #hubs = new Map<string, Map<string, DeviceConnection>>();
  readonly #publisher: Publisher;
  readonly #metrics: Metrics;
  readonly #maxDevicesPerUser: number;

  constructor(publisher: Publisher, metrics: Metrics, maxDevicesPerUser: number) {
    this.#publisher = publisher;
    this.#metrics = metrics;
    this.#maxDevicesPerUser = maxDevicesPerUser;
  }

  /** Adds a device; a connection of the same device replaces the old one. Call on the user's lane. */
  async attach(conn: DeviceConnection): Promise<void> {
    let hub = this.#hubs.get(conn.uid);
    const replaced = hub?.get(conn.device);
    if (hub && !replaced && hub.size >= this.#maxDevicesPerUser) {
      throw new GregorError('TOO_MANY_CONNECTIONS', `the user has ${hub.size} connections, the limit`);
    }
    if (!hub) {
      hub = new Map();
      this.#hubs.set(conn.uid, hub);
      this.#metrics.users.inc();
      await this.#publisher.subscribe(conn.uid);
    }
    replaced?.close(CLOSE.REPLACED, 'a newer connection of this device replaced this one');
    hub.set(conn.device, conn);
  }

  /** Removes a device; the last one destroys the hub. Call on the user's lane. */
  async detach(conn: DeviceConnection): Promise<void> {
    const hub = this.#hubs.get(conn.uid);
    if (hub?.get(conn.device) !== conn) return;
    hub.delete(conn.device);
    if (hub.size > 0) return;
    this.#hubs.delete(conn.uid);
    this.#metrics.users.dec();
    await this.#publisher.unsubscribe(conn.uid);
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
   * distinct projection is serialised once, however many devices share it.
   */
  deliver(m: Message, result: ConsumeResult): void {
    const hub = this.#hubs.get(m.md.uid);
    if (!hub) return;
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
  }

  /** Shows a due reminder on the devices its item is for (a device that dismissed the item ignores it). */
  deliverReminder(r: Reminder): void {
    const frame = Buffer.from(
      JSON.stringify({
        type: 'reminder',
        item_id: r.item.id,
        remind_at: r.remindAt / 1000,
        item: itemToWire(r.item),
      }),
    );
    for (const conn of this.devices(r.uid)) {
      if (r.item.forDevice === null || r.item.forDevice === conn.device) conn.deliver(frame, null);
    }
  }
}
