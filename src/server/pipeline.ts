import type { ConsumeResult, Engine } from '../core/state-machine.js';
import type { Message } from '../protocol/message.js';
import type { Lanes } from './lanes.js';
import type { Metrics } from './metrics.js';

export interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** What runs after the store, on the user's lane: the extensions' `afterStore` hooks. */
export type AfterStore = (m: Message, result: ConsumeResult, source: string) => Promise<void>;

/**
 * The main loop of seed 003: a message runs through the store, then `afterStore` (the
 * extensions: fan-out, broadcaster, the embedder's own), on its user's lane. If the store fails,
 * the message stops there: no acknowledgement, no broadcast. A duplicate was fanned out the first
 * time, so it stops after the store.
 *
 * @example
 *   const result = await pipeline.consume(message, 'http');
 */
export class Pipeline {
  readonly #store: Engine;
  readonly #afterStore: AfterStore;
  readonly #lanes: Lanes;
  readonly #metrics: Metrics;
  #inFlight = new Map<number, number>();
  #nextId = 0;
  /** The last ctime stamped per user (bounded): see #stamp. */
  readonly #lastCtime = new Map<string, number>();

  constructor(store: Engine, afterStore: AfterStore, lanes: Lanes, metrics: Metrics) {
    this.#store = store;
    this.#afterStore = afterStore;
    this.#lanes = lanes;
    this.#metrics = metrics;
  }

  consume(m: Message, source: string): Promise<ConsumeResult> {
    const started = performance.now();
    const ticket = this.#nextId++;
    this.#inFlight.set(ticket, Date.now());
    return this.#lanes
      .run(m.md.uid, async () => {
        const stamped = this.#stamp(m);
        const result = await this.#store.consumeMessage(stamped);
        if (result.status !== 'duplicate') await this.#afterStore(stamped, result, source);
        return result;
      })
      .then(
        (result) => {
          this.#metrics.messagesIn.inc({ source, status: result.status });
          this.#metrics.consumeSeconds.observe((performance.now() - started) / 1000);
          return result;
        },
        (e: unknown) => {
          this.#metrics.messagesIn.inc({ source, status: 'failed' });
          throw e;
        },
      )
      .finally(() => this.#inFlight.delete(ticket));
  }

  /**
   * Gives each of a user's messages a ctime later than the previous one's (same millisecond: +1).
   * Then a creation committed later never beats an earlier one under "earliest (ctime, msgId)
   * wins", so an item a device already shows is never replaced by a version it would not be sent
   * (one already dismissed): without this, two creations of one ID in one millisecond could
   * leave devices showing an item the server no longer has.
   */
  #stamp(m: Message): Message {
    const last = this.#lastCtime.get(m.md.uid) ?? 0;
    const ctime = Math.max(m.md.ctime, last + 1);
    this.#lastCtime.delete(m.md.uid);
    this.#lastCtime.set(m.md.uid, ctime);
    // Bounded memory: forget the least recently active user past 100k (a restart forgets all).
    if (this.#lastCtime.size > 100_000) this.#lastCtime.delete(this.#lastCtime.keys().next().value!);
    return ctime === m.md.ctime ? m : { ...m, md: { ...m.md, ctime } };
  }

  /** Age (ms) of the oldest message still in the pipeline: readiness fails when it is stuck. */
  oldestInFlightMs(now = Date.now()): number {
    let oldest = now;
    for (const t of this.#inFlight.values()) oldest = Math.min(oldest, t);
    return now - oldest;
  }
}
