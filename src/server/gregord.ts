import { Gauge } from 'prom-client';
import type { Engine } from '../core/state-machine.js';
import { CLOSE } from '../protocol/close-codes.js';
import { GregorError, isGregorError } from '../protocol/errors.js';
import type { ClientFrame } from '../protocol/frames.js';
import type { Authenticator } from './auth.js';
import type { Config } from './config.js';
import type { DeviceConnection } from './device.js';
import { Hubs } from './hubs.js';
import { Lanes } from './lanes.js';
import { Metrics } from './metrics.js';
import { type Logger, Pipeline, type PipelineConsumer } from './pipeline.js';
import { LocalPublisher, type Publication, type Publisher } from './publisher.js';
import { answerSync } from './sync.js';

export interface GregordOptions {
  readonly config: Config;
  readonly engine: Engine;
  readonly auth: Authenticator;
  readonly log: Logger;
  readonly publisher?: Publisher;
}

/** Readiness: never green while delivery is broken. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, 'ok' | string>;
}

/** A stuck pipeline is a broken one: readiness fails past this. */
const STUCK_MS = 10_000;

/**
 * The server's core, without any transport: the pipeline [store, publisher, broadcaster], the
 * per-user lanes and hubs, device sync, reminders and compaction. The HTTP and WebSocket adapters
 * (http.ts, websocket.ts) are thin layers over it.
 */
export class Gregord {
  readonly config: Config;
  readonly engine: Engine;
  readonly auth: Authenticator;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly lanes = new Lanes();
  readonly hubs: Hubs;
  readonly pipeline: Pipeline;
  readonly publisher: Publisher;
  #timers: NodeJS.Timeout[] = [];
  /** Authenticated devices on this node, counted against `max-connections` (places taken at once). */
  #devices = 0;
  #reminding = false;
  #draining = false;

  constructor(options: GregordOptions) {
    this.config = options.config;
    this.engine = options.engine;
    this.auth = options.auth;
    this.log = options.log;
    this.publisher = options.publisher ?? new LocalPublisher();
    this.hubs = new Hubs(this.publisher, this.metrics, this.config.maxDevicesPerUser);
    const publisher: PipelineConsumer = {
      name: 'publisher',
      consumeMessage: (message, result) => this.publisher.publish({ kind: 'message', message, result }),
    };
    const broadcaster = { name: 'broadcaster', consumeMessage: this.hubs.deliver.bind(this.hubs) };
    this.pipeline = new Pipeline(this.engine, [publisher, broadcaster], this.lanes, this.metrics, this.log);
    this.publisher.onRemote((p) => void this.#onRemote(p, broadcaster));
    this.publisher.onResync((uids) => this.#resync(uids));
    const publisherRef = this.publisher;
    new Gauge({
      name: 'gregor_pubsub_healthy',
      help: '1 while fan-out between nodes works (always 1 on a single node), 0 while it may be losing messages',
      registers: [this.metrics.registry],
      collect() {
        this.set(publisherRef.healthy ? 1 : 0);
      },
    });
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Authenticated devices on this node. */
  get devices(): number {
    return this.#devices;
  }

  /**
   * Adds an authenticated device to its user's hub. `max-connections` is enforced here, where a
   * socket becomes a device: sockets still authenticating have a budget of their own.
   */
  async attach(conn: DeviceConnection): Promise<void> {
    if (this.#draining) throw new GregorError('NOT_READY', 'the server is shutting down');
    if (this.#devices >= this.config.maxConnections) {
      throw new GregorError('TOO_MANY_CONNECTIONS', 'the server is at its connection limit');
    }
    this.#devices++;
    try {
      await this.lanes.run(conn.uid, () => this.hubs.attach(conn));
    } catch (e) {
      this.#devices--;
      throw e;
    }
    this.metrics.connections.inc();
  }

  detach(conn: DeviceConnection): void {
    this.#devices--;
    this.metrics.connections.dec();
    this.lanes
      .run(conn.uid, () => this.hubs.detach(conn))
      .catch((e: unknown) => this.log.error({ err: e, uid: conn.uid }, 'detach failed'));
  }

  /** Answers a device's sync frame, holding live messages until the answer is sent. */
  sync(conn: DeviceConnection, request: Extract<ClientFrame, { type: 'sync' }>): Promise<void> {
    return this.lanes.run(conn.uid, async () => {
      conn.beginSync();
      const answer = await answerSync(
        this.engine,
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

  /** Starts the reminder and compaction loops. */
  start(): void {
    this.#timers.push(setInterval(() => void this.#remind(), this.config.reminderIntervalMs));
    if (this.config.compactAfterMs > 0) {
      this.#timers.push(
        setInterval(() => void this.#compact(), Math.min(3_600_000, this.config.compactAfterMs)),
      );
    }
    for (const t of this.#timers) t.unref();
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, string> = {};
    checks.accepting = this.#draining ? 'shutting down' : 'ok';
    checks.storage = await withTimeout(
      this.engine.state('__gregor_readyz__').then(() => 'ok'),
      2000,
    ).catch((e: unknown) => `failing: ${isGregorError(e) ? e.code : (e as Error).message}`);
    const stuck = this.pipeline.oldestInFlightMs();
    checks.pipeline = stuck < STUCK_MS ? 'ok' : `a message has been in the pipeline for ${stuck} ms`;
    checks.pubsub = this.publisher.healthy ? 'ok' : 'degraded: fan-out to other nodes is interrupted';
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }

  /** Graceful shutdown: refuse new devices, close devices with a retry code, drain, close storage. */
  async shutdown(closeSockets: (code: number, reason: string) => void): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    for (const t of this.#timers) clearInterval(t);
    closeSockets(CLOSE.SERVER_RESTART, 'server restarting: reconnect');
    await withTimeout(this.lanes.drain(), this.config.shutdownGraceMs).catch(() =>
      this.log.warn({}, 'shutdown grace period ended with work still queued'),
    );
    await this.publisher.close();
    await this.engine.close();
  }

  async #onRemote(p: Publication, broadcaster: { consumeMessage: Hubs['deliver'] }): Promise<void> {
    const uid = p.kind === 'message' ? p.message.md.uid : p.reminder.uid;
    await this.lanes.run(uid, () =>
      p.kind === 'message'
        ? broadcaster.consumeMessage(p.message, p.result)
        : this.hubs.deliverReminder(p.reminder),
    );
  }

  /** Devices that may have missed messages reconnect and resync (cheaply, from their cursor). */
  #resync(uids: readonly string[] | null): void {
    const devices = uids === null ? this.hubs.everyDevice() : uids.flatMap((uid) => this.hubs.devices(uid));
    for (const d of devices) d.close(CLOSE.RESYNC, 'fan-out was interrupted: reconnect and resync');
  }

  /** Claims due reminders (atomically across nodes) and shows them on the users' devices. */
  async #remind(): Promise<void> {
    if (this.#reminding || this.#draining) return;
    this.#reminding = true;
    try {
      for (;;) {
        const due = await this.engine.claimDueReminders(this.config.nodeId, Date.now(), 100, 30_000);
        if (due.length === 0) break;
        for (const r of due) {
          await this.lanes.run(r.uid, () => this.hubs.deliverReminder(r));
          await this.publisher
            .publish({ kind: 'reminder', reminder: r })
            .catch((e: unknown) => this.log.warn({ err: e }, 'reminder publish failed'));
        }
        await this.engine.completeReminders(this.config.nodeId, due);
        this.metrics.reminders.inc(due.length);
        if (due.length < 100) break;
      }
    } catch (e) {
      this.log.error({ err: e }, 'reminder loop failed; retrying next tick');
    } finally {
      this.#reminding = false;
    }
  }

  async #compact(): Promise<void> {
    try {
      const report = await this.engine.compact(Date.now() - this.config.compactAfterMs);
      this.log.info({ report }, 'compacted history');
    } catch (e) {
      this.log.error({ err: e }, 'compaction failed; retrying next hour');
    }
  }
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
