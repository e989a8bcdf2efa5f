import { randomUUID } from 'node:crypto';
import { type FanOut, type FanOutLog, type Publication, publicationUid } from '../fan-out.js';
import { decodeFrame, encodePublication } from '../wire.js';
import { MemoryBus } from './memory-bus.js';

export interface MemoryFanOutOptions {
  /** The bus shared with the other nodes of this process; default: a private one (a single node). */
  readonly bus?: MemoryBus;
  /** Unique on the bus; default: a random ID. */
  readonly nodeId?: string;
  /** Where refused frames are reported; default: nowhere (a private bus carries only this node's). */
  readonly log?: FanOutLog;
}

const QUIET: FanOutLog = { warn() {}, info() {} };

/**
 * Fan-out between nodes of one process through a MemoryBus. Alone on a private bus (the default
 * for a single node) it has no one to tell: publish resolves 0, present resolves false. Nothing
 * can interrupt a bus, so it is always healthy and never asks for a resync.
 *
 * @example
 *   const single = new MemoryFanOut();                       // one node: nothing to tell
 *   const bus = new MemoryBus();                             // a fleet in one process
 *   const [a, b] = ['a', 'b'].map((nodeId) => new MemoryFanOut({ bus, nodeId }));
 */
export class MemoryFanOut implements FanOut {
  readonly name = 'memory';
  readonly healthy = true;
  readonly #bus: MemoryBus;
  readonly #nodeId: string;
  readonly #log: FanOutLog;
  #remote: (p: Publication) => void = () => {};
  #closed = false;

  constructor(options: MemoryFanOutOptions = {}) {
    this.#bus = options.bus ?? new MemoryBus();
    this.#nodeId = options.nodeId ?? randomUUID();
    this.#log = options.log ?? QUIET;
    this.#bus.join(this.#nodeId, (frame) => this.#receive(frame));
  }

  async publish(p: Publication): Promise<number> {
    this.#open();
    const uid = publicationUid(p);
    // A single node publishes every message it stores: encode only when someone listens.
    if (!this.#bus.present(this.#nodeId, uid)) return 0;
    return this.#bus.publish(this.#nodeId, uid, encodePublication(this.#nodeId, p));
  }

  async subscribe(uid: string): Promise<void> {
    this.#open();
    this.#bus.subscribe(this.#nodeId, uid);
  }

  /** After close, a no-op: closing dropped every subscription. */
  async unsubscribe(uid: string): Promise<void> {
    this.#bus.unsubscribe(this.#nodeId, uid);
  }

  async present(uid: string): Promise<boolean> {
    this.#open();
    return this.#bus.present(this.#nodeId, uid);
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#remote = handler;
  }

  /** A bus is never interrupted: the handler is never called. */
  onResync(_handler: (uids: readonly string[] | null) => void): void {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus.leave(this.#nodeId);
  }

  #receive(text: string): void {
    const frame = decodeFrame(text, this.#log);
    if (frame?.kind === 'publication' && frame.node !== this.#nodeId) this.#remote(frame.publication);
  }

  /** Use after close rejects (house rule 7): a closed node is off the bus and would silently miss everything. */
  #open(): void {
    if (this.#closed) throw new Error('fan-out is closed');
  }
}
