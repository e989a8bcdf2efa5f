import WebSocket from 'ws';
import { parseServerText } from '../../src/protocol/frames.js';

/**
 * A server frame, as parseServerFrame checked it (a `ServerFrame`), loosely typed so that tests
 * read any field without narrowing.
 */
export type Frame = { type: string; [key: string]: unknown };

/**
 * A device over a real WebSocket, for tests: records every frame, waits for the next frame that
 * matches, and reports how the socket closed. Every frame goes through parseServerFrame, as in the
 * SDK: once the server sends one that does not pass, every wait of this device fails with why.
 */
export class TestDevice {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  readonly #consumed = new Set<Frame>();
  #invalid: Error | null = null;

  constructor(url: string, options: { token?: string; headers?: Record<string, string> } = {}) {
    const headers = {
      ...options.headers,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    };
    this.socket = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.socket.on('message', (data) => {
      const text = data.toString();
      let frame: Frame;
      try {
        frame = parseServerText(text);
      } catch (e) {
        this.#invalid ??= new Error(
          `the server sent an invalid frame (${(e as Error).message}): ${text.slice(0, 300)}`,
        );
        for (const w of this.#waiters) w.reject(this.#invalid);
        this.#waiters = [];
        return;
      }
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame not yet returned by `next` that matches (waiting for it if needed), or a timeout error. */
  next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    if (this.#invalid) return Promise.reject(this.#invalid);
    const earlier = this.frames.find((f) => !this.#consumed.has(f) && match(f));
    if (earlier) {
      this.#consumed.add(earlier);
      return Promise.resolve(earlier);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-3))}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        match: (f) => !this.#consumed.has(f) && match(f),
        resolve: (f) => {
          clearTimeout(timer);
          this.#consumed.add(f);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  type(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  /** Frames of `type` received so far. */
  all(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close(1000);
    return this.closed;
  }
}

/** Connects, authenticates (header), waits for hello, syncs, and waits for the sync answer. */
export async function connectDevice(
  wsUrl: string,
  token: string,
  device: string,
  sync: { cursor?: number; hash?: string } = {},
): Promise<{ device: TestDevice; answer: Frame }> {
  const d = new TestDevice(`${wsUrl}?device=${encodeURIComponent(device)}`, { token });
  await d.type('hello');
  d.send({ type: 'sync', ...sync });
  const answer = await d.next((f) => ['state', 'messages', 'synced'].includes(f.type));
  return { device: d, answer };
}
