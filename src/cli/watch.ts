import WebSocket from 'ws';
import { CLOSE, shouldReconnect } from '../protocol/close-codes.js';
import type { GregorError } from '../protocol/errors.js';
import { parseServerText, type ServerFrame } from '../protocol/frames.js';
import { refusedHint, type SigningSecrets, serviceHeaders } from './tokens.js';

/**
 * `gregor watch`: a device that prints every frame. It syncs only after `hello` (authentication
 * by header finishes first), and when the session ends with a code that says "reconnect" (its
 * short-lived token expired, the server restarted) it comes back with a fresh token from where it
 * was, instead of quitting.
 */
export class Watcher {
  readonly #url: string;
  readonly #secrets: SigningSecrets;
  readonly #ttlSeconds: number;
  #cursor: number | undefined;
  #socket: WebSocket | null = null;
  #stopped = false;

  constructor(url: string, secrets: SigningSecrets, ttlSeconds: number) {
    this.#url = url;
    this.#secrets = secrets;
    this.#ttlSeconds = ttlSeconds;
  }

  async run(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const { code, reason, opened, final } = await this.#session();
      if (this.#stopped) return 0;
      console.error(`closed: ${code} ${reason}`);
      if (code === CLOSE.UNAUTHORIZED) console.error(refusedHint(this.#secrets));
      if (final || !shouldReconnect(code) || code === 1000) return code === 1000 ? 0 : 1;
      if (opened) attempt = 0;
      // Full-jitter backoff, 0.5 s to 10 s.
      const ms = Math.random() * Math.min(10_000, 500 * 2 ** attempt);
      console.error(`reconnecting in ${(ms / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, ms));
      if (this.#stopped) return 0;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#socket?.close(1000);
  }

  async #session(): Promise<{ code: number; reason: string; opened: boolean; final?: boolean }> {
    const headers = await serviceHeaders(this.#secrets, this.#ttlSeconds);
    if (this.#stopped) return { code: 1000, reason: 'stopped', opened: false };
    const ws = new WebSocket(this.#url, { headers });
    this.#socket = ws;
    let opened = false;
    let refusal: { text: string; final: boolean } | null = null;
    ws.on('message', (data) => {
      const text = data.toString();
      console.log(text);
      const frame = parseFrame(text);
      if (frame === null) return;
      if (frame.type === 'hello') {
        opened = true;
        ws.send(
          JSON.stringify({ type: 'sync', ...(this.#cursor === undefined ? {} : { cursor: this.#cursor }) }),
        );
      } else if (frame.type === 'state' || frame.type === 'messages' || frame.type === 'synced') {
        this.#cursor = frame.cursor;
      } else if (frame.type === 'message' && 'seq' in frame.message) this.#cursor = frame.message.seq;
    });
    // An upgrade refused with an HTTP answer: a 4xx other than 429 cannot be cured by retrying.
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      refusal = {
        text: `the server answered the upgrade with HTTP ${status}`,
        final: status >= 400 && status < 500 && status !== 429,
      };
      ws.terminate();
    });
    return new Promise((resolve) => {
      ws.on('close', (code, reason) =>
        resolve({ code, reason: refusal?.text ?? reason.toString(), opened, final: refusal?.final ?? false }),
      );
      ws.on('error', (e) => {
        if (!refusal) console.error(`cannot connect to ${this.#url}: ${e.message}`);
        // A server that is not there yet is worth retrying; 'close' follows with 1006.
      });
    });
  }
}

/** A server frame, or null for text that is not one (printed, and said on stderr; never fatal). */
function parseFrame(text: string): ServerFrame | null {
  try {
    return parseServerText(text);
  } catch (e) {
    const { code, message } = e as GregorError;
    console.error(`not a frame this gregor can read (${code}): ${message}`);
    return null;
  }
}
