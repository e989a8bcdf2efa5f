import type { IncomingHttpHeaders } from 'node:http';
import { Gauge } from 'prom-client';
import type { ConsumeResult, Engine, Reminder } from '../core/state-machine.js';
import { CLOSE } from '../protocol/close-codes.js';
import { GregorError, isGregorError } from '../protocol/errors.js';
import type { ClientFrame } from '../protocol/frames.js';
import type { Message } from '../protocol/message.js';
import { id } from '../protocol/validate.js';
import type { Principal } from './auth.js';
import type { Config } from './config.js';
import type { DeviceConnection } from './device.js';
import { Hooks } from './extensions/hooks.js';
import type { DeliveryOrigin, Extension, Transport } from './extensions/types.js';
import { type FanOut, type Publication, publicationUid } from './fanout/fan-out.js';
import { Hubs } from './hubs.js';
import { Lanes } from './lanes.js';
import { Metrics } from './metrics.js';
import { fitsGregor, toGregorUid } from './notify/identity.js';
import { type Logger, Pipeline } from './pipeline.js';
import { answerSync } from './sync.js';

export interface GregordOptions {
  readonly config: Config;
  readonly engine: Engine;
  /** Fan-out between nodes; a single node uses the memory backend. */
  readonly fanout: FanOut;
  readonly log: Logger;
  /** Built-ins and the embedder's own, in any order: hooks run by priority. */
  readonly extensions: readonly Extension[];
}

/** The reads of a user's history an API may serve. */
export type StoreReader = Pick<Engine, 'state' | 'messagesAfter' | 'inBandMessagesSince'>;

/** A device connected to this node. */
export interface ConnectedDevice {
  readonly uid: string;
  readonly device: string;
  /** When it authenticated (ms). */
  readonly connectedAt: number;
}

/** What consuming a message did: the ID it was stored under (hooks may change it) and the store's answer. */
export interface Consumed {
  readonly msgId: string;
  readonly result: ConsumeResult;
}

/** Readiness: never green while delivery is broken. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, 'ok' | string>;
}

/** A stuck pipeline is a broken one: readiness fails past this. */
const STUCK_MS = 10_000;

/**
 * The server's core, without any transport, and the narrow facade everything else uses:
 * `authenticate` and `consume` for whatever arrives (WebSocket, HTTP, an extension), `deliver`
 * as the one path to a user's devices on this node, `attach`/`detach`/`sync` for device
 * sessions, and the extensions' hooks around each (docs/server.md gives their order). Hubs,
 * lanes and the pipeline stay inside.
 *
 * @example
 *   const gregord = new Gregord({ config, engine, fanout, log, extensions });
 *   const { msgId, result } = await gregord.consume(parseMessage(body, { uid, now: Date.now() }), 'http');
 */
export class Gregord {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics = new Metrics();
  /** Reads of users' state and history. */
  readonly store: StoreReader;
  readonly #engine: Engine;
  readonly #fanout: FanOut;
  readonly #lanes = new Lanes();
  readonly #hubs: Hubs;
  readonly #pipeline: Pipeline;
  readonly #hooks: Hooks;
  /** Authenticated devices on this node, counted against `max-connections` (places taken at once). */
  #deviceCount = 0;
  #started = false;
  #draining = false;
  /** `onUndelivered` checks still waiting for their reports: shutdown waits for them. */
  readonly #checks = new Set<Promise<void>>();

  constructor(options: GregordOptions) {
    this.config = options.config;
    this.#engine = options.engine;
    this.#fanout = options.fanout;
    this.log = options.log;
    const engine = options.engine;
    this.store = {
      state: engine.state.bind(engine),
      messagesAfter: engine.messagesAfter.bind(engine),
      inBandMessagesSince: engine.inBandMessagesSince.bind(engine),
    };
    this.#hooks = new Hooks(options.extensions, (hook, extension, err) => {
      this.metrics.hookFailures.inc({ hook, extension });
      this.log.error({ err, hook, extension }, 'extension hook failed');
    });
    this.#hubs = new Hubs(this.metrics, this.config.maxDevicesPerUser);
    this.#pipeline = new Pipeline(
      engine,
      (m, result, source) => this.#afterStore(m, result, source),
      this.#lanes,
      this.metrics,
    );
    const fanout = this.#fanout;
    new Gauge({
      name: 'gregor_pubsub_healthy',
      help: '1 while fan-out between nodes works (always 1 on a single node), 0 while it may be losing messages',
      registers: [this.metrics.registry],
      collect() {
        this.set(fanout.healthy ? 1 : 0);
      },
    });
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Authenticated devices on this node. */
  get deviceCount(): number {
    return this.#deviceCount;
  }

  /** Users with at least one device on this node. */
  get userCount(): number {
    return this.#hubs.userCount;
  }

  /**
   * Who a credential speaks for: the extensions' `onAuthenticate` hooks in order (the built-in
   * JWT verifier among them), each seeing what the ones before decided. Throws GREGOR_ERR_AUTH_*.
   */
  async authenticate(
    token: string,
    transport: Transport,
    headers: IncomingHttpHeaders = {},
  ): Promise<Principal> {
    let principal: Principal | null = null;
    for (const h of this.#hooks.list('onAuthenticate')) {
      const payload = { gregor: this, token, transport, headers, principal };
      const decided = await this.#hooks.callRefusable('onAuthenticate', h, payload);
      if (decided) principal = checkedPrincipal(decided, h.extension);
    }
    if (!principal) throw new GregorError('AUTH_INVALID', 'no authenticator accepted the credential');
    return principal;
  }

  /**
   * The one entry for a message, whatever brought it: `beforeConsume` hooks (off the lane), then
   * the store and `afterStore` on the user's lane. `principal` is who sent it, if anyone.
   */
  async consume(message: Message, source: string, principal: Principal | null = null): Promise<Consumed> {
    // Past this point the fan-out may be closed: a message stored now would reach only this node.
    if (this.#draining) throw new GregorError('NOT_READY', 'the server is shutting down');
    if (this.#hooks.has('beforeConsume')) message = await this.#beforeConsume(message, source, principal);
    const result = await this.#pipeline.consume(message, source);
    return { msgId: message.md.msgId, result };
  }

  /**
   * The one path to a user's devices on this node, whatever the source: a message stored here or
   * on another node, a Notify publication, a due reminder. Queued on the user's lane; resolves
   * with the devices it was sent to. From a hook that already runs on the lane (afterStore,
   * onReminder, onConnect, onDisconnect) use `deliverOnLane`: waiting for the lane there would
   * wait for itself.
   */
  deliver(p: Publication, origin: DeliveryOrigin): Promise<number> {
    return this.#lanes.run(publicationUid(p), () => this.deliverOnLane(p, origin));
  }

  /** `deliver`, for a caller already on the publication's user's lane. */
  deliverOnLane(p: Publication, origin: DeliveryOrigin): number {
    const devices =
      p.kind === 'message' ? this.#hubs.deliver(p.message, p.result) : this.#hubs.deliverReminder(p.reminder);
    if (devices > 0 && this.#hooks.has('onDeliver')) {
      this.#hooks.sync('onDeliver', {
        gregor: this,
        publication: p,
        uid: publicationUid(p),
        devices,
        origin,
      });
    }
    return devices;
  }

  /** A due reminder this node claimed: `onReminder` hooks on the user's lane (the broadcaster shows it). */
  remind(reminder: Reminder): Promise<void> {
    return this.#lanes.run(reminder.uid, () =>
      this.#hooks.tolerant('onReminder', { gregor: this, reminder }),
    );
  }

  /** This node's devices of a user. */
  devices(uid: string): ConnectedDevice[] {
    return this.#hubs.devices(uid).map(({ uid, device, connectedAt }) => ({ uid, device, connectedAt }));
  }

  /**
   * Closes devices on this node: a user's (`uid`), one device of a user (`uid` and `device`), or
   * every device (`null`). Returns how many were closed.
   */
  closeDevices(target: { uid: string; device?: string } | null, code: number, reason: string): number {
    const devices = target === null ? this.#hubs.everyDevice() : this.#hubs.devices(target.uid);
    let closed = 0;
    for (const d of devices) {
      if (target?.device !== undefined && d.device !== target.device) continue;
      d.close(code, reason);
      closed++;
    }
    return closed;
  }

  /**
   * Adds an authenticated device to its user's hub and runs `onConnect` on the user's lane, before
   * the device syncs. `max-connections` is enforced here, where a socket becomes a device: sockets
   * still authenticating have a budget of their own. A refusal from a hook detaches it again.
   */
  async attach(conn: DeviceConnection, principal: Principal): Promise<void> {
    if (this.#draining) throw new GregorError('NOT_READY', 'the server is shutting down');
    if (this.#deviceCount >= this.config.maxConnections) {
      throw new GregorError('TOO_MANY_CONNECTIONS', 'the server is at its connection limit');
    }
    this.#deviceCount++;
    try {
      await this.#lanes.run(conn.uid, async () => {
        const { firstOnNode } = this.#hubs.attach(conn);
        try {
          await this.#hooks.refusable('onConnect', {
            gregor: this,
            uid: conn.uid,
            device: conn.device,
            principal,
            firstOnNode,
            firstInFleet: () => (firstOnNode ? this.#aloneInFleet(conn.uid) : Promise.resolve(false)),
          });
        } catch (e) {
          await this.#detachOnLane(conn);
          throw e;
        }
      });
    } catch (e) {
      this.#deviceCount--;
      throw e;
    }
    this.metrics.connections.inc();
  }

  detach(conn: DeviceConnection): void {
    this.#deviceCount--;
    this.metrics.connections.dec();
    this.#lanes
      .run(conn.uid, () => this.#detachOnLane(conn))
      .catch((e: unknown) => this.log.error({ err: e, uid: conn.uid }, 'detach failed'));
  }

  /** Answers a device's sync frame, holding live messages until the answer is sent. */
  sync(conn: DeviceConnection, request: Extract<ClientFrame, { type: 'sync' }>): Promise<void> {
    return this.#lanes.run(conn.uid, async () => {
      conn.beginSync();
      const answer = await answerSync(
        this.#engine,
        conn.uid,
        conn.device,
        request,
        this.config.syncMessageLimit,
      );
      this.metrics.syncs.inc({ answer: answer.type });
      conn.sendText(answer.text);
      conn.endSync(answer.cursor);
    });
  }

  /** The transport listens: runs the extensions' `onListen` hooks, once (a throw is logged). */
  async start(url: string | null): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#hooks.tolerant('onListen', { gregor: this, url });
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, string> = {};
    checks.accepting = this.#draining ? 'shutting down' : 'ok';
    checks.storage = await withTimeout(
      this.#engine.state('__gregor_readyz__').then(() => 'ok'),
      2000,
    ).catch((e: unknown) => `failing: ${isGregorError(e) ? e.code : (e as Error).message}`);
    const stuck = this.#pipeline.oldestInFlightMs();
    checks.pipeline = stuck < STUCK_MS ? 'ok' : `a message has been in the pipeline for ${stuck} ms`;
    checks.pubsub = this.#fanout.healthy ? 'ok' : 'degraded: fan-out to other nodes is interrupted';
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }

  /**
   * Graceful shutdown: refuse new devices and messages, close the sockets with a retry code
   * (`closeSockets` resolves once they are gone), drain the lanes (their `onDisconnect` hooks
   * among them) and the pending `onUndelivered` checks, run `onShutdown`, then close the fan-out
   * and storage.
   */
  async shutdown(closeSockets: (code: number, reason: string) => Promise<void> | void): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    await closeSockets(CLOSE.SERVER_RESTART, 'server restarting: reconnect');
    const settled = async () => {
      await this.#lanes.drain();
      while (this.#checks.size > 0) await Promise.all(this.#checks);
    };
    await withTimeout(settled(), this.config.shutdownGraceMs).catch(() =>
      this.log.warn({}, 'shutdown grace period ended with work still queued'),
    );
    await this.#hooks.tolerant('onShutdown', { gregor: this });
    await this.#fanout.close();
    await this.#engine.close();
  }

  async #beforeConsume(message: Message, source: string, principal: Principal | null): Promise<Message> {
    for (const h of this.#hooks.list('beforeConsume')) {
      const payload = { gregor: this, message, source, principal };
      const changed = await this.#hooks.callRefusable('beforeConsume', h, payload);
      if (!changed) continue;
      // The metadata is the message's identity: its ID makes a resend idempotent, its user and
      // device decide who sees it. A hook changes the content, never these.
      const { md } = message;
      const same = changed.md;
      if (
        same.uid !== md.uid ||
        same.msgId !== md.msgId ||
        same.device !== md.device ||
        same.ctime !== md.ctime
      ) {
        this.log.error({ extension: h.extension }, 'beforeConsume changed the metadata of a message');
        throw new GregorError(
          'INTERNAL',
          `extension ${h.extension} changed a message's ID, user, device or time`,
        );
      }
      message = changed;
    }
    return message;
  }

  /** On the lane: `afterStore` hooks, then (off the lane) `onUndelivered` if nothing reached a device. */
  async #afterStore(message: Message, result: ConsumeResult, source: string): Promise<void> {
    const reports: (number | Promise<number | null>)[] = [];
    await this.#hooks.tolerant('afterStore', {
      gregor: this,
      message,
      result,
      source,
      reached: (count) => reports.push(count),
    });
    if (!this.#hooks.has('onUndelivered')) return;
    const check = this.#checkUndelivered(message, result, reports).finally(() => this.#checks.delete(check));
    this.#checks.add(check);
  }

  /**
   * Fires `onUndelivered` once, on the storing node, when every report says 0. An unknown count
   * (null) is not 0; a failed report (fan-out down) counts as 0: offline delivery would rather
   * reach a user twice than not at all.
   */
  async #checkUndelivered(
    message: Message,
    result: ConsumeResult,
    reports: readonly (number | Promise<number | null>)[],
  ): Promise<void> {
    const counts = await Promise.all(reports.map((r) => Promise.resolve(r).catch(() => 0)));
    if (counts.some((c) => c === null || c > 0)) return;
    await this.#hooks.tolerant('onUndelivered', { gregor: this, message, result });
  }

  async #detachOnLane(conn: DeviceConnection): Promise<void> {
    const { lastOnNode } = this.#hubs.detach(conn);
    await this.#hooks.tolerant('onDisconnect', {
      gregor: this,
      uid: conn.uid,
      device: conn.device,
      lastOnNode,
      lastInFleet: () => (lastOnNode ? this.#aloneInFleet(conn.uid) : Promise.resolve(false)),
    });
  }

  /** No other node holds a device of uid (null: the fan-out cannot tell). */
  async #aloneInFleet(uid: string): Promise<boolean | null> {
    const present = await this.#fanout.present(uid).catch(() => null);
    return present === null ? null : !present;
  }
}

/** A Principal from an extension is checked like one from a token: IDs follow the protocol's grammar. */
function checkedPrincipal(p: Principal, extension: string): Principal {
  try {
    if (p.kind === 'user' && p.notifyId !== undefined) checkNotifyId(p.uid, p.notifyId);
    else if (p.kind === 'user') id(p.uid, 'uid');
    if (p.device !== null) id(p.device, 'device');
    return p;
  } catch (e) {
    throw new GregorError(
      'AUTH_INVALID',
      `extension ${extension} decided a malformed identity: ${(e as Error).message}`,
    );
  }
}

/** A Notify ID must be a non-empty string, and uid its Gregor encoding (null when over the limit). */
function checkNotifyId(uid: string | null, notifyId: unknown): void {
  if (typeof notifyId !== 'string' || notifyId === '')
    throw new Error('notifyId: expected a non-empty string');
  const encoded = toGregorUid(notifyId);
  if (uid !== (fitsGregor(encoded) ? encoded : null)) throw new Error('uid: must be toGregorUid(notifyId)');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
