/** One node on a MemoryBus: how the bus hands it a frame. */
interface Endpoint {
  readonly deliver: (frame: string) => void;
  readonly uids: Set<string>;
}

/**
 * The in-process stand-in for a pub/sub server: several nodes in one process (tests, an embedder
 * running a small fleet) share one bus. It carries the same wire frames as the networked backends
 * (so an in-process fleet exercises the codec too) and delivers them on a later microtask, in
 * publish order, like a network would: never inside the publisher's call.
 *
 * @example
 *   const bus = new MemoryBus();
 *   const a = new MemoryFanOut({ bus, nodeId: 'a' });
 *   const b = new MemoryFanOut({ bus, nodeId: 'b' });
 */
export class MemoryBus {
  readonly #nodes = new Map<string, Endpoint>();
  /** uid → the nodes subscribed to it. */
  readonly #subscribers = new Map<string, Set<string>>();

  /** Adds a node; its ID must be unique on the bus (it tells a node's own frames apart). */
  join(nodeId: string, deliver: (frame: string) => void): void {
    if (this.#nodes.has(nodeId)) throw new Error(`node ${JSON.stringify(nodeId)} is already on this bus`);
    this.#nodes.set(nodeId, { deliver, uids: new Set() });
  }

  leave(nodeId: string): void {
    for (const uid of this.#nodes.get(nodeId)?.uids ?? []) this.unsubscribe(nodeId, uid);
    this.#nodes.delete(nodeId);
  }

  subscribe(nodeId: string, uid: string): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    node.uids.add(uid);
    const set = this.#subscribers.get(uid) ?? new Set<string>();
    set.add(nodeId);
    this.#subscribers.set(uid, set);
  }

  unsubscribe(nodeId: string, uid: string): void {
    this.#nodes.get(nodeId)?.uids.delete(uid);
    const set = this.#subscribers.get(uid);
    set?.delete(nodeId);
    if (set?.size === 0) this.#subscribers.delete(uid);
  }

  /** Hands `frame` to every other node subscribed to `uid` now; returns how many. */
  publish(from: string, uid: string, frame: string): number {
    let count = 0;
    for (const nodeId of this.#subscribers.get(uid) ?? []) {
      if (nodeId === from) continue;
      const node = this.#nodes.get(nodeId)!;
      count += 1;
      // Checked again at delivery: a node that left meanwhile gets nothing, as with a real server.
      queueMicrotask(() => {
        if (this.#nodes.get(nodeId) === node) node.deliver(frame);
      });
    }
    return count;
  }

  /** Whether any node other than `from` is subscribed to `uid`. */
  present(from: string, uid: string): boolean {
    const set = this.#subscribers.get(uid);
    return set !== undefined && (set.size > 1 || !set.has(from));
  }
}
