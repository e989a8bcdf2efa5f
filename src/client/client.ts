import type { StoredItem } from '../core/user-state.js';
import { CLOSE, shouldReconnect } from '../protocol/close-codes.js';
import type { GregorError } from '../protocol/errors.js';
import { parseServerText, type ServerFrame } from '../protocol/frames.js';
import type { WireMessage } from '../protocol/message.js';
import { fromWireTime } from '../protocol/time.js';
import { Acks } from './acks.js';
import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { Mirror, type OutboxEntry } from './mirror.js';
import { MemoryStorage, type StorageAdapter } from './storage.js';
import type {
  Ack,
  ClientEvents,
  ClientItem,
  ConnectionState,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

export interface ClientOptions {
  /** `ws://host:port/v1/ws`, or several nodes of a fleet: after a lost connection the next one is tried. */
  readonly url: string | readonly string[];
  readonly device: string;
  readonly token?: string;
  /** Called on every connect, so an expired token is replaced. */
  readonly getToken?: () => string | Promise<string>;
  readonly storage?: StorageAdapter;
  /** Defaults to the global WebSocket; in Node 20, pass `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
}

/** Errors a resend can cure: the change stays in the outbox. Anything else is final for that change. */
const RETRYABLE = new Set([
  'GREGOR_ERR_STORAGE_UNAVAILABLE',
  'GREGOR_ERR_STORAGE_FULL',
  'GREGOR_ERR_STORAGE_FAILED',
  'GREGOR_ERR_NOT_READY',
  'GREGOR_ERR_INTERNAL',
  'GREGOR_ERR_RATE_LIMITED',
]);

type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/**
 * A device's live mirror of its user's Gregor state: connects, syncs cheaply (cursor + hash),
 * applies every change, reconnects with full-jitter backoff, and keeps changes made offline in a
 * persisted outbox, sent with their original IDs so a resend never duplicates.
 *
 * @example
 *   const client = new GregorClient({ url: 'ws://localhost:7300/v1/ws', device: 'laptop', token });
 *   client.on('change', ({ items }) => render(items));
 *   await client.ready();
 *   await client.create('hello', { category: 'greeting', body: 'Hi' });
 */
export class GregorClient {
  readonly device: string;
  readonly #options: ClientOptions;
  readonly #events = new Emitter<ClientEvents>();
  readonly #mirror = new Mirror();
  readonly #storage: StorageAdapter;
  readonly #backoff: Backoff;
  readonly #acks = new Acks();
  #state: ConnectionState = 'idle';
  #socket: WebSocketLike | null = null;
  /** Every socket gets a number: callbacks of a stale socket are ignored. */
  #transport = 0;
  /** Which of the URLs the next connect uses; moves on after every lost connection. */
  #urlIndex = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #expiryTimer: ReturnType<typeof setTimeout> | null = null;
  #heard = true;
  #shown = new Map<string, string>();
  #saving: Promise<void> = Promise.resolve();
  readonly #ready: Promise<void>;
  #markReady!: () => void;
  #failReady!: (e: Error) => void;
  readonly #loaded: Promise<void>;
  #isLoaded = false;

  constructor(options: ClientOptions) {
    this.#options = options;
    this.device = options.device;
    this.#storage = options.storage ?? new MemoryStorage();
    this.#backoff = new Backoff(options.backoff?.minMs, options.backoff?.maxMs);
    this.#ready = new Promise((resolve, reject) => {
      this.#markReady = resolve;
      this.#failReady = reject;
    });
    this.#ready.catch(() => {}); // rejected only for callers of ready(); not unhandled otherwise
    this.#loaded = this.#load();
    void this.#loaded.then(() => this.#connect());
    browserEvents().addEventListener?.('online', this.#online);
  }

  get connection(): ConnectionState {
    return this.#state;
  }

  /** The visible items, sorted by (ctime, id), with this device's pending changes applied. */
  items(): ClientItem[] {
    return this.#mirror.visible(this.device, Date.now()).map((i) => this.#toClient(i));
  }

  get(id: string): ClientItem | undefined {
    return this.items().find((i) => i.id === id);
  }

  /** The hash of the state confirmed by the server (equal to the server's when in sync). */
  hash(): string {
    return this.#mirror.hash(this.device, Date.now());
  }

  on<E extends keyof ClientEvents>(event: E, fn: (payload: ClientEvents[E]) => void): () => void {
    return this.#events.on(event, fn);
  }

  /** Resolves after the first successful sync; rejects if the client closes for good first. */
  ready(): Promise<void> {
    return this.#ready;
  }

  create(
    id: string,
    item: { category: string; body?: unknown; times?: Record<string, unknown>; for_device?: string | null },
  ): Promise<Ack> {
    return this.send({ system: 'gregor', body: { create: { [id]: item } } });
  }

  /** Dismisses items everywhere, or on this device only. */
  dismiss(ids: string | string[], options: { thisDeviceOnly?: boolean } = {}): Promise<Ack> {
    const list = Array.isArray(ids) ? ids : [ids];
    return this.send({ system: 'gregor', body: { dismiss: { ids: list, ...this.#scope(options) } } });
  }

  /** Dismisses every item of a category created in [begin, end] (default: up to now). */
  dismissCategory(
    category: string,
    options: { begin?: number | string; end?: number | string; thisDeviceOnly?: boolean } = {},
  ): Promise<Ack> {
    const interval = {
      category,
      ...(options.begin === undefined ? {} : { begin: options.begin }),
      ...(options.end === undefined ? {} : { end: options.end }),
    };
    return this.send({
      system: 'gregor',
      body: { dismiss: { intervals: [interval], ...this.#scope(options) } },
    });
  }

  /**
   * Sends any wire message. It shows at once (optimistic), is kept in the persisted outbox until
   * the server acknowledges it, and resolves with the acknowledgement (possibly after reconnects).
   */
  send(message: { system: string; body: unknown; id?: string }): Promise<Ack> {
    const id = message.id ?? `${this.device}-${randomId()}`;
    const entry: OutboxEntry = { id, message: { ...message, id }, at: Date.now() };
    const acked = this.#acks.wait(id);
    const queue = () => {
      this.#mirror.addPending(entry);
      this.#changed();
      if (this.#state === 'connected') this.#sendConsume(entry);
    };
    // Shown at once once the saved state is loaded (before that, right after it loads).
    if (this.#isLoaded) queue();
    else void this.#loaded.then(queue);
    return acked;
  }

  /** Stops for good: closes the socket, cancels retries, saves the outbox. */
  async close(): Promise<void> {
    this.#end(
      new Error('the client was closed; unacknowledged changes stay in its storage for the next start'),
    );
    this.#teardown(1000, 'client closed');
    browserEvents().removeEventListener?.('online', this.#online);
    await this.#saving;
  }

  #scope(o: { thisDeviceOnly?: boolean }): { for_device?: string } {
    return o.thisDeviceOnly ? { for_device: this.device } : {};
  }

  async #load(): Promise<void> {
    try {
      const saved = await this.#storage.load(this.#key());
      if (saved) this.#mirror.restore(saved);
    } catch (e) {
      this.#events.emit('error', {
        code: 'GREGOR_ERR_CLIENT_STORAGE',
        message: `cannot load the saved state: ${(e as Error).message}`,
      });
    }
    this.#isLoaded = true;
    if (this.#mirror.outbox.length > 0 || this.#mirror.cursor !== null) this.#changed(false);
  }

  #key(): string {
    const urls = typeof this.#options.url === 'string' ? [this.#options.url] : this.#options.url;
    return `${urls[0]}|${this.device}`;
  }

  async #connect(): Promise<void> {
    if (this.#closed()) return;
    this.#setState('connecting');
    const transport = ++this.#transport;
    let token: string;
    try {
      token = this.#options.getToken ? await this.#options.getToken() : (this.#options.token ?? '');
    } catch (e) {
      this.#events.emit('error', {
        code: 'GREGOR_ERR_AUTH_REQUIRED',
        message: `getToken failed: ${(e as Error).message}`,
      });
      if (transport === this.#transport) this.#scheduleReconnect();
      return;
    }
    if (transport !== this.#transport || this.#closed()) return;
    const Ctor = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor)
      throw new Error('no WebSocket: pass options.WebSocket (in Node 20: `import WebSocket from "ws"`)');
    const urls = typeof this.#options.url === 'string' ? [this.#options.url] : this.#options.url;
    const url = urls[this.#urlIndex % urls.length]!;
    const sep = url.includes('?') ? '&' : '?';
    const socket = new Ctor(`${url}${sep}device=${encodeURIComponent(this.device)}`);
    this.#socket = socket;
    socket.onopen = () => {
      if (transport === this.#transport) socket.send(JSON.stringify({ type: 'auth', token }));
    };
    socket.onmessage = (ev) => {
      if (transport === this.#transport) this.#onFrame(String(ev.data));
    };
    socket.onclose = (ev) => {
      if (transport === this.#transport) this.#onClose(ev.code, ev.reason);
    };
    socket.onerror = () => {};
  }

  #onFrame(text: string): void {
    this.#heard = true;
    let frame: ServerFrame;
    try {
      frame = parseServerText(text);
    } catch (e) {
      // A frame this version cannot read (a newer server's type, a broken one) is skipped, not fatal.
      const { code, message } = e as GregorError;
      this.#events.emit('error', {
        code,
        message: `the server sent a frame this client cannot read: ${message}`,
      });
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.#adopt(frame.uid);
        this.#startHeartbeat(frame.heartbeat_ms);
        this.#setState('syncing');
        this.#sync(true);
        return;
      case 'state':
        this.#mirror.loadState(frame.items, frame.cursor);
        if (frame.flush) this.#events.emit('flush', {});
        this.#synced();
        return;
      case 'messages':
        for (const m of frame.messages) this.#applyWire(m, false);
        if (this.#mirror.hash(this.device, Date.now()) !== frame.hash) this.#sync(false);
        else this.#synced();
        return;
      case 'synced':
        this.#mirror.cursor = frame.cursor;
        this.#synced();
        return;
      case 'message':
        this.#applyWire(frame.message, true);
        return;
      case 'ack':
        this.#acked(frame);
        return;
      case 'error':
        this.#refused(frame);
        return;
      case 'reminder':
        this.#reminded(frame);
        return;
    }
  }

  /**
   * The storage holds another user's state (someone else signed in on this device): forget it, and
   * never send that user's pending changes under this user's token.
   */
  #adopt(uid: string): void {
    if (this.#mirror.uid === '' || this.#mirror.uid === uid) {
      this.#mirror.uid = uid;
      return;
    }
    const dropped = this.#mirror.reset(uid);
    for (const entry of dropped)
      this.#acks.reject(entry.id, new Error("dropped: the storage held another user's change"));
  }

  /** Asks for what was missed (cursor + hash), or for the full state. */
  #sync(withCursor: boolean): void {
    const cursor = this.#mirror.cursor;
    const frame =
      withCursor && cursor !== null ? { type: 'sync', cursor, hash: this.hash() } : { type: 'sync' };
    this.#socket?.send(JSON.stringify(frame));
  }

  #synced(): void {
    this.#setState('connected');
    this.#backoff.reset();
    this.#changed();
    for (const entry of this.#mirror.outbox) this.#sendConsume(entry);
    this.#markReady();
  }

  #applyWire(wire: WireMessage & { seq?: number }, live: boolean): void {
    let message: ReturnType<Mirror['parse']>;
    try {
      message = this.#mirror.parse(wire);
    } catch (e) {
      this.#events.emit('error', {
        code: 'GREGOR_ERR_INVALID_MESSAGE',
        message: `the server sent a message this client cannot read: ${(e as Error).message}`,
      });
      return;
    }
    if (message.kind === 'oob') {
      this.#events.emit('message', { system: message.system, body: message.body });
      return;
    }
    if (typeof wire.seq !== 'number' || !this.#mirror.applyStored(message, wire.seq)) return;
    if (message.kind === 'flush' && live) {
      this.#events.emit('flush', {});
      this.#sync(false);
    }
    if (live) this.#changed();
  }

  #sendConsume(entry: OutboxEntry): void {
    this.#socket?.send(JSON.stringify({ type: 'consume', ref: entry.id, message: entry.message }));
  }

  #acked(frame: Frame<'ack'>): void {
    const ref = frame.ref ?? '';
    this.#mirror.removePending(ref);
    const ack: Ack = { msgId: frame.msg_id, seq: frame.seq, status: frame.status };
    this.#acks.resolve(ref, ack);
    this.#changed();
  }

  #refused(frame: Frame<'error'>): void {
    const { code, message, ref } = frame;
    if (ref && !RETRYABLE.has(code) && this.#mirror.removePending(ref)) {
      this.#acks.reject(ref, Object.assign(new Error(message), { code }));
      this.#changed();
    }
    this.#events.emit('error', { code, message });
  }

  #reminded(frame: Frame<'reminder'>): void {
    const item = this.get(frame.item_id);
    if (item) this.#events.emit('reminder', { item, remindAt: fromWireTime(frame.remind_at) });
  }

  #onClose(code: number, reason: string): void {
    this.#teardown();
    if (this.#closed()) return;
    // A fixed token that expired cannot get better by retrying.
    const final = !shouldReconnect(code) || (code === CLOSE.TOKEN_EXPIRED && !this.#options.getToken);
    if (final) {
      const message = reason || 'the server closed the connection for good';
      this.#events.emit('error', { code: `GREGOR_CLOSE_${code}`, message });
      this.#end(Object.assign(new Error(message), { code: `GREGOR_CLOSE_${code}` }));
      return;
    }
    this.#scheduleReconnect();
  }

  /** Waits a full-jitter backoff, then connects again (to the next URL). Call after the teardown. */
  #scheduleReconnect(): void {
    if (this.#closed()) return;
    this.#urlIndex++;
    this.#setState('disconnected');
    this.#retryTimer = setTimeout(() => void this.#connect(), this.#backoff.next());
  }

  /** The one teardown path: stops timers and the socket; the socket's later callbacks are stale. */
  #teardown(code = 1000, reason = ''): void {
    this.#transport++;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#retryTimer = this.#heartbeat = this.#expiryTimer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState <= 1) socket.close(code, reason);
  }

  /** A silent connection (no frame for two intervals) is dead: drop it and reconnect. */
  #startHeartbeat(intervalMs: number): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heard = true;
    this.#heartbeat = setInterval(() => {
      if (!this.#heard) {
        this.#teardown(4002, 'no answer to ping');
        this.#scheduleReconnect();
        return;
      }
      this.#heard = false;
      this.#socket?.send(JSON.stringify({ type: 'ping' }));
    }, intervalMs);
  }

  readonly #online = () => {
    if (this.#state !== 'disconnected') return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#backoff.reset();
    void this.#connect();
  };

  /** Closed for good: ready() and every waiting change reject with `error`. */
  #end(error: Error): void {
    this.#setState('closed');
    this.#failReady(error);
    this.#acks.rejectAll(error);
  }

  #closed(): boolean {
    return this.#state === 'closed';
  }

  #setState(newState: ConnectionState): void {
    const oldState = this.#state;
    if (oldState === newState || oldState === 'closed') return;
    this.#state = newState;
    this.#events.emit('connection', { newState, oldState });
  }

  /** After any change: emits created/dismissed/change for what the app sees, schedules expiry, saves. */
  #changed(save = true): void {
    const items = this.items();
    const shown = new Map(items.map((i) => [i.id, `${i.pending}`]));
    for (const i of items) if (!this.#shown.has(i.id)) this.#events.emit('created', { item: i });
    for (const id of this.#shown.keys()) if (!shown.has(id)) this.#events.emit('dismissed', { id });
    this.#shown = shown;
    this.#events.emit('change', { items });
    this.#scheduleExpiry(items);
    if (save)
      this.#saving = this.#saving
        .then(() => this.#storage.save(this.#key(), this.#mirror.serialize(this.device, Date.now())))
        .catch((e: unknown) => {
          this.#events.emit('error', {
            code: 'GREGOR_ERR_CLIENT_STORAGE',
            message: `cannot save: ${(e as Error).message}`,
          });
        });
  }

  /** Expired items leave the state at their time, without any message: wake up then. */
  #scheduleExpiry(items: ClientItem[]): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    const next = Math.min(...items.map((i) => i.expires ?? Infinity));
    if (next === Infinity) return;
    this.#expiryTimer = setTimeout(
      () => this.#changed(false),
      Math.min(2 ** 31 - 1, Math.max(0, next - Date.now())),
    );
  }

  #toClient(i: StoredItem): ClientItem {
    return {
      id: i.id,
      category: i.category,
      created: i.created,
      expires: i.expires,
      remindAt: i.remindAt,
      forDevice: i.forDevice,
      body: i.body,
      pending: this.#mirror.isPending(i),
    };
  }
}

/** The browser's window events (`online`), absent in Node. */
function browserEvents(): {
  addEventListener?: (type: string, fn: () => void) => void;
  removeEventListener?: (type: string, fn: () => void) => void;
} {
  return globalThis as never;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}
