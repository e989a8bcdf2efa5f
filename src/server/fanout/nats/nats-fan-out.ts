import {
  connect,
  type Msg,
  type NatsConnection,
  RequestError,
  type Subscription,
  TimeoutError,
} from '@nats-io/transport-node';
import { Link } from '../common/link.js';
import { type FanOut, type FanOutLog, type Publication, publicationUid } from '../fan-out.js';
import { encodePresence, encodePublication } from '../wire.js';
import { Subjects } from './subjects.js';

export interface NatsFanOutOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** Subject prefix (`<prefix>.u.<user>`); lets several deployments (or tests) share one NATS. */
  readonly prefix: string;
  /** Unique in the fleet: it names the connection and tells this node's frames apart. */
  readonly nodeId: string;
  readonly log: FanOutLog;
  /** Pause between attempts to reach NATS (ms): 2000 by default; tests use less. */
  readonly reconnectWaitMs?: number;
  /** How long a publish or presence request waits for the first answer (ms): 3000 by default. */
  readonly replyTimeoutMs?: number;
}

/**
 * Fan-out between nodes through NATS core (seed 001, "Fleet"). A node subscribes to
 * `<prefix>.u.<base64url(uid)>` while it holds one of the user's devices.
 *
 * Publishing is a request: every subscribed node answers at once (before delivering), so the
 * first answer means at least one other node has it, and NATS's "no responders" status (503) means
 * none does. The connection uses `noEcho`: the server never hands a node its own publications, and
 * (checked by test/fanout/nats.test.ts against nats-server) its own subscription does not count as
 * a responder either, so a lone node gets "no responders" even while subscribed to the user.
 * `present` is the same request with a presence frame, which nodes answer and never deliver.
 *
 * Failure: on disconnect the node is not healthy, and publications not yet answered fail (the
 * client drops what it had not written); publishing fails fast until the connection is back,
 * since the client would buffer and drop it. A failed publication's user is announced on
 * `<prefix>.resync` once NATS takes it. After a reconnect (the client restores subscriptions;
 * a flush confirms the server has them) every local device resyncs.
 *
 * @example
 *   const fanOut = new NatsFanOut({ servers: 'nats://127.0.0.1:4222', prefix: 'gregor', nodeId, log });
 */
export class NatsFanOut implements FanOut {
  readonly name = 'nats';
  readonly #options: NatsFanOutOptions;
  readonly #subjects: Subjects;
  readonly #link: Link;
  #nc: NatsConnection | null = null;
  /** The users this node listens for, kept across connections. */
  readonly #wanted = new Set<string>();
  /** Their subscriptions on the current connection. */
  readonly #subs = new Map<string, Subscription>();
  /** Fails each publication still waiting for its answer. */
  readonly #inFlight = new Set<(e: Error) => void>();
  /** Bumped on every disconnect: a confirmation begun on an older connection is stale. */
  #generation = 0;
  #closed = false;
  #wake: (() => void) | null = null;
  readonly #running: Promise<void>;

  constructor(options: NatsFanOutOptions) {
    this.#options = options;
    this.#subjects = new Subjects(options.prefix);
    this.#link = new Link({
      nodeId: options.nodeId,
      log: options.log,
      backend: 'nats',
      sendResync: (frame) => this.#sendResync(frame),
    });
    this.#running = this.#run();
  }

  get healthy(): boolean {
    return this.#link.healthy;
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#link.onRemote(handler);
  }

  onResync(handler: (uids: readonly string[] | null) => void): void {
    this.#link.onResync(handler);
  }

  /** Resolves 0 on "no responders", 1 on the first answer (at least one node), null on no answer in time. */
  publish(p: Publication): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Error('fan-out is closed'));
    const uid = publicationUid(p);
    const nc = this.#nc;
    if (nc === null || !this.#link.isUp) {
      this.#link.lost(uid);
      return Promise.reject(new Error('NATS is unreachable: publication not sent; its user will resync'));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.#inFlight.delete(fail);
        outcome();
      };
      const fail = (e: Error) =>
        settle(() => {
          this.#link.lost(uid);
          reject(e);
        });
      this.#inFlight.add(fail);
      this.#request(nc, uid, encodePublication(this.#options.nodeId, p)).then(
        (answer) => settle(() => resolve(answer === null ? null : answer ? 1 : 0)),
        fail,
      );
    });
  }

  /**
   * While NATS is up, resolves once the server has the subscription (a flush: the server handles
   * a connection's commands in order). While it is down, never waits: the subscription is made
   * when the connection returns, and every local device resyncs then.
   */
  async subscribe(uid: string): Promise<void> {
    if (this.#closed) throw new Error('fan-out is closed');
    this.#wanted.add(uid);
    const nc = this.#nc;
    if (nc !== null) this.#listen(nc, uid);
    if (nc === null || !this.#link.isUp) {
      this.#link.missed();
      return;
    }
    await nc.flush().catch(() => {});
  }

  /** After close, a no-op: closing dropped every subscription. */
  async unsubscribe(uid: string): Promise<void> {
    if (this.#closed) return;
    this.#wanted.delete(uid);
    this.#subs.get(uid)?.unsubscribe();
    this.#subs.delete(uid);
    if (this.#link.isUp) await this.#nc?.flush().catch(() => {});
  }

  async present(uid: string): Promise<boolean | null> {
    if (this.#closed) throw new Error('fan-out is closed');
    const nc = this.#nc;
    if (nc === null || !this.#link.isUp) return null;
    return this.#request(nc, uid, encodePresence(this.#options.nodeId, uid)).catch(() => null);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.close();
    this.#wake?.();
    await this.#nc?.close().catch(() => {});
    await this.#running;
  }

  /** true: a node answered; false: no responders; null: no answer in time. Rejects on any other failure. */
  async #request(nc: NatsConnection, uid: string, frame: string): Promise<boolean | null> {
    const timeout = this.#options.replyTimeoutMs ?? 3000;
    try {
      await nc.request(this.#subjects.user(uid), frame, { timeout });
      return true;
    } catch (e) {
      if (e instanceof RequestError && e.isNoResponders()) return false;
      if (e instanceof TimeoutError) {
        this.#options.log.warn({ uid, timeoutMs: timeout }, 'nats: no node answered in time');
        return null;
      }
      throw e;
    }
  }

  /** Connects, and connects again if the client ever gives up (it retries without limit itself). */
  async #run(): Promise<void> {
    while (!this.#closed) {
      const nc = await this.#connect();
      if (nc === null) return;
      this.#attach(nc);
      const err = await nc.closed();
      this.#nc = null;
      this.#subs.clear();
      if (this.#closed) return;
      this.#down();
      this.#options.log.warn({ err }, 'nats connection closed; connecting again');
    }
  }

  async #connect(): Promise<NatsConnection | null> {
    const wait = this.#options.reconnectWaitMs ?? 2000;
    let warned = false;
    while (!this.#closed) {
      try {
        const nc = await connect({
          servers:
            typeof this.#options.servers === 'string' ? this.#options.servers : [...this.#options.servers],
          name: `${this.#options.prefix}:${this.#options.nodeId}`,
          // The server never sends this node its own publications (see the class comment).
          noEcho: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: wait,
        });
        if (!this.#closed) return nc;
        await nc.close();
      } catch (e) {
        if (!warned) this.#options.log.warn({ err: e }, 'nats unreachable; fan-out waits for it');
        warned = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
    return null;
  }

  #attach(nc: NatsConnection): void {
    this.#nc = nc;
    nc.subscribe(this.#subjects.resync, {
      callback: (_e, m) => {
        this.#link.receive(m.string());
      },
    });
    for (const uid of this.#wanted) this.#listen(nc, uid);
    void this.#watch(nc);
    void this.#confirm(nc);
  }

  #listen(nc: NatsConnection, uid: string): void {
    if (this.#subs.has(uid)) return;
    this.#subs.set(uid, nc.subscribe(this.#subjects.user(uid), { callback: (_e, m) => this.#onUser(m) }));
  }

  /** Answers at once, so the publisher learns it was received; then delivers (presence frames: never). */
  #onUser(m: Msg): void {
    if (m.reply) m.respond();
    this.#link.receive(m.string());
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.#down();
      else if (s.type === 'reconnect') void this.#confirm(nc);
    }
  }

  /** The subscriptions are on the server once a flush (PING/PONG) sent after them returns. */
  async #confirm(nc: NatsConnection): Promise<void> {
    const generation = this.#generation;
    try {
      await nc.flush();
    } catch {
      return;
    }
    if (generation === this.#generation && this.#nc === nc && !this.#closed) this.#link.up();
  }

  #down(): void {
    this.#generation += 1;
    this.#link.down();
    const lost = new Error('the NATS connection dropped before the publication was answered');
    for (const fail of [...this.#inFlight]) fail(lost);
  }

  async #sendResync(frame: string): Promise<void> {
    const nc = this.#nc;
    if (nc === null || !this.#link.isUp) throw new Error('NATS is unreachable');
    nc.publish(this.#subjects.resync, frame);
    await nc.flush();
  }
}
