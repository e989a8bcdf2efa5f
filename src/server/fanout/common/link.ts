import type { FanOutLog, Publication } from '../fan-out.js';
import { decodeFrame, encodeResync, type Frame } from '../wire.js';

export interface LinkOptions {
  readonly nodeId: string;
  readonly log: FanOutLog;
  /** The backend, for log lines. */
  readonly backend: string;
  /** Sends a resync frame to every node; rejects when it could not. */
  readonly sendResync: (frame: string) => Promise<void>;
  /** Pause between attempts to announce lost users while the backend refuses them. */
  readonly retryMs?: number;
  /** The backend publishes on a connection of its own (Redis), reported by `publishing`. */
  readonly separatePublisher?: boolean;
}

/**
 * What the networked backends (Redis, NATS) share: the handlers, the frames they receive, whether
 * their subscription is up, and the users whose publications were lost. The rules, once:
 *
 * - not healthy while the subscription (or the connection that publishes) is down, or a lost
 *   publication is not yet announced;
 * - when the subscription comes back after being down (or after a subscribe that could not wait
 *   for it), every local device resyncs: it may have missed messages;
 * - a lost publication's user is announced on the resync channel as soon as the backend takes it.
 *
 * @example
 *   const link = new Link({ nodeId, log, backend: 'redis', sendResync: (f) => publish(RESYNC, f) });
 *   sub.on('close', () => link.down());
 *   sub.on('ready', () => link.up());
 *   sub.on('message', (_, payload) => link.receive(payload));
 */
export class Link {
  readonly #options: LinkOptions;
  #remote: (p: Publication) => void = () => {};
  #resync: (uids: readonly string[] | null) => void = () => {};
  /** Users whose publications were lost and not yet announced. */
  readonly #lost = new Set<string>();
  #up = false;
  #publishing: boolean;
  /** Local devices may have missed messages since the subscription was last up. */
  #missed = false;
  #announcing: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(options: LinkOptions) {
    this.#options = options;
    this.#publishing = !options.separatePublisher;
  }

  get isUp(): boolean {
    return this.#up;
  }

  get healthy(): boolean {
    return this.#up && this.#publishing && this.#lost.size === 0;
  }

  /** Whether the separate publishing connection takes commands (publish fails fast while not). */
  publishing(ready: boolean): void {
    this.#publishing = ready;
    if (ready) this.retryNow();
  }

  onRemote(handler: (p: Publication) => void): void {
    this.#remote = handler;
  }

  onResync(handler: (uids: readonly string[] | null) => void): void {
    this.#resync = handler;
  }

  /** The subscription is down: what is published meanwhile does not reach this node. */
  down(): void {
    if (this.#closed) return;
    if (this.#up) {
      this.#options.log.warn(
        { backend: this.#options.backend },
        'fan-out subscription lost; devices will resync when it returns',
      );
    }
    this.#up = false;
    this.#missed = true;
  }

  /** A subscribe returned without waiting (the backend was down): its device synced unsubscribed. */
  missed(): void {
    if (!this.#up) this.#missed = true;
  }

  /** The subscription is active again: local devices resync if they could have missed anything. */
  up(): void {
    if (this.#closed) return;
    this.#up = true;
    this.retryNow();
    if (!this.#missed) return;
    this.#missed = false;
    this.#options.log.info(
      { backend: this.#options.backend },
      'fan-out subscription back; telling local devices to resync',
    );
    this.#resync(null);
  }

  /** A publication for `uid` could not be sent: remember it, and announce it once possible. */
  lost(uid: string): void {
    this.#lost.add(uid);
    this.retryNow();
  }

  /** The backend can take commands again (a reconnect): announce lost users now, not at the next retry. */
  retryNow(): void {
    if (this.#lost.size === 0 || this.#closed) return;
    if (this.#wake) this.#wake();
    else
      this.#announcing ??= this.#announce().finally(() => {
        this.#announcing = null;
      });
  }

  /**
   * Handles a frame from the backend: never this node's own, publications to the remote handler,
   * resync notices to the resync handler. Returns the frame (null if refused or own) so a backend
   * can answer the kinds only it knows.
   */
  receive(text: string): Frame | null {
    const frame = decodeFrame(text, this.#options.log);
    if (frame === null || frame.node === this.#options.nodeId) return null;
    if (frame.kind === 'publication') this.#remote(frame.publication);
    else if (frame.kind === 'resync') this.#resync(frame.uids);
    return frame;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async #announce(): Promise<void> {
    while (this.#lost.size > 0 && !this.#closed) {
      const uids = [...this.#lost];
      try {
        await this.#options.sendResync(encodeResync(this.#options.nodeId, uids));
        for (const uid of uids) this.#lost.delete(uid);
        this.#options.log.info(
          { backend: this.#options.backend, users: uids.length },
          'fan-out: told the other nodes to resync users whose publications were lost',
        );
      } catch {
        // Still refused: try again after a pause, or at once when the backend reconnects.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#options.retryMs ?? 1000);
          timer.unref();
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }
}
