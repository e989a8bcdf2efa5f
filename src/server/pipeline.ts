import type { ConsumeResult, Engine } from '../core/state-machine.js';
import type { Message } from '../protocol/message.js';
import type { Lanes } from './lanes.js';
import type { Metrics } from './metrics.js';

/** A consumer after the store (seed 001: publisher, broadcaster): it sees the store's result. */
export interface PipelineConsumer {
  readonly name: string;
  consumeMessage(m: Message, result: ConsumeResult): Promise<void> | void;
}

export interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * The main loop of seed 003: a message runs through the store, then every other consumer, in
 * order, on its user's lane. If the store fails, the message stops there: no acknowledgement,
 * no broadcast. If a later consumer fails, the rest still run (clients resync to recover).
 * A duplicate was fanned out the first time, so it stops after the store.
 *
 * @example
 *   const result = await pipeline.consume(message, 'http');
 */
export class Pipeline {
  readonly #store: Engine;
  readonly #consumers: readonly PipelineConsumer[];
  readonly #lanes: Lanes;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #inFlight = new Map<number, number>();
  #nextId = 0;
  /** The last ctime stamped per user (bounded): see #stamp. */
  readonly #lastCtime = new Map<string, number>();

  constructor(
    store: Engine,
    consumers: readonly PipelineConsumer[],
    lanes: Lanes,
    metrics: Metrics,
    log: Logger,
  ) {
    this.#store = store;
    this.#consumers = consumers;
    this.#lanes = lanes;
    this.#metrics = metrics;
    this.#log = log;
  }

  consume(m: Message, source: string): Promise<ConsumeResult> {
    const started = performance.now();
    const ticket = this.#nextId++;
    this.#inFlight.set(ticket, Date.now());
    return this.#lanes
      .run(m.md.uid, async () => {
        const stamped = this.#stamp(m);
        const result = await this.#store.consumeMessage(stamped);
        if (result.status !== 'duplicate') await this.fanOut(stamped, result);
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

  /** Runs the consumers after the store; also used for messages other nodes stored. */
  async fanOut(m: Message, result: ConsumeResult, consumers = this.#consumers): Promise<void> {
    for (const c of consumers) {
      try {
        await c.consumeMessage(m, result);
      } catch (e) {
        this.#metrics.consumerFailures.inc({ consumer: c.name });
        this.#log.error(
          { err: e, consumer: c.name, uid: m.md.uid, msgId: m.md.msgId },
          'pipeline consumer failed',
        );
      }
    }
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
