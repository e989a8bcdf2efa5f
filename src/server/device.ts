import { CLOSE } from '../protocol/close-codes.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { Metrics } from './metrics.js';
import type { SocketLike } from './socket.js';

/**
 * One authenticated device connection. While it syncs, live messages wait in `#held` and are
 * sent after the sync answer, dropping what the answer already covered (seq <= cursor): a
 * message committed during the sync is neither lost nor sent twice.
 */
export class DeviceConnection {
  readonly uid: string;
  readonly device: string;
  readonly connectedAt = Date.now();
  readonly #socket: SocketLike;
  readonly #maxBuffer: number;
  readonly #metrics: Metrics;
  #held: { seq: number | null; frame: Uint8Array }[] | null = null;
  #heldBytes = 0;
  #closed = false;

  constructor(uid: string, device: string, socket: SocketLike, maxBufferBytes: number, metrics: Metrics) {
    this.uid = uid;
    this.device = device;
    this.#socket = socket;
    this.#maxBuffer = maxBufferBytes;
    this.#metrics = metrics;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** From now until `endSync`, live messages are held. */
  beginSync(): void {
    this.#held ??= [];
  }

  /** Sends what was held during the sync and is newer than `cursor`, then goes live. */
  endSync(cursor: number): void {
    const held = this.#held ?? [];
    this.#held = null;
    this.#heldBytes = 0;
    for (const h of held) if (h.seq === null || h.seq > cursor) this.#write(h.frame);
  }

  /** Sends a live message frame, already UTF-8 encoded: one serialisation per fan-out, not per device. */
  deliver(frame: Uint8Array, seq: number | null): void {
    if (this.#closed) return;
    if (!this.#held) {
      this.#write(frame);
      return;
    }
    // Held messages count against the same buffer limit as queued ones.
    this.#heldBytes += frame.byteLength;
    if (this.#held.length > 0 && this.#heldBytes > this.#maxBuffer) this.#cutOff();
    else this.#held.push({ seq, frame });
  }

  send(frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  /** Sends a frame serialised by the caller, outside the live-message hold (sync answers, replies). */
  sendText(text: string): void {
    if (!this.#closed) this.#write(text);
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = null;
    this.#socket.close(code, reason);
  }

  /**
   * A device that cannot keep up must not cost the server unbounded memory nor delay anyone
   * else: past the buffer limit it is cut off with a retry code, and resyncs when it returns.
   * A frame always fits an empty buffer: the limit is on falling behind, not on one large answer.
   */
  #write(data: string | Uint8Array): void {
    const queued = this.#socket.bufferedAmount;
    const bytes = () => (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
    if (queued > 0 && queued + bytes() > this.#maxBuffer) {
      this.#cutOff();
      return;
    }
    this.#metrics.framesOut.inc();
    this.#socket.send(data);
  }

  #cutOff(): void {
    this.#metrics.slowConsumers.inc();
    this.close(CLOSE.SLOW_CONSUMER, 'send buffer full: reconnect and resync');
  }
}
