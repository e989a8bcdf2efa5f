import type { IncomingHttpHeaders } from 'node:http';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../protocol/close-codes.js';
import { GregorError, isGregorError } from '../../protocol/errors.js';
import type { Gregord } from '../gregord.js';
import { type ChannelListener, type NotifyChannels, notifyKeys } from './channels.js';
import { notifyIdOf } from './identity.js';

export const NOTIFY_WS_PATH = '/notify/ws';

/** `?topic=` is client input that costs a Redis subscription each: bound it. */
export const MAX_TOPICS = 16;
/** A topic is part of a Redis channel name, kept in memory per socket: bound its length. */
export const MAX_TOPIC_LENGTH = 200;
/** Go's `unicode.IsSpace`, which `strings.Fields` splits on (JavaScript's `\s` differs). */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/;
/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where the upgrade request carried a token, as read by the WebSocket gateway. */
export interface NotifyUpgrade {
  readonly url: URL;
  /** The upgrade request's headers (extensions' onAuthenticate may read them). */
  readonly headers: IncomingHttpHeaders;
  /** The auth cookie's value (the gateway has already checked the Origin for it). */
  readonly cookie: string | null;
  /** The first `Topic:` header, when the request repeats it (the gateway reads it distinct). */
  readonly firstTopicHeader?: string | undefined;
}

/**
 * The token of a `/notify/ws` upgrade, where Notify looks for it: the session cookie wins (when it
 * is present, even empty: Notify takes it and fails, and so does the Twirp method), then the
 * `Authorization` header, then `?authorization=`. A `Bearer ` prefix is stripped later.
 */
export function notifyToken(upgrade: NotifyUpgrade): string | null {
  if (upgrade.cookie !== null) return upgrade.cookie;
  return upgrade.headers.authorization || upgrade.url.searchParams.get('authorization') || null;
}

/**
 * The topics of a `/notify/ws` upgrade, as Notify reads them: a `Topic:` header, else the first
 * `?topic=`; split on commas and whitespace (Go's `strings.Fields` after commas become spaces).
 * Duplicates are dropped. Topics over the limits are not subscribed; `refused` counts them.
 *
 * @example
 *   notifyTopics(upgrade); // ?topic=a,b%20c → { topics: ['a', 'b', 'c'], refused: 0 }
 */
export function notifyTopics(upgrade: NotifyUpgrade): { topics: string[]; refused: number } {
  // Node joins a repeated header into one string (only set-cookie is ever an array).
  // Node joins repeated headers with ", "; Go's Header.Get takes the first one only.
  const header = upgrade.firstTopicHeader ?? (upgrade.headers.topic as string | undefined);
  const param = header ?? upgrade.url.searchParams.get('topic') ?? '';
  const all = [...new Set(param.replaceAll(',', ' ').split(GO_SPACE).filter(Boolean))];
  const topics = all.filter((t) => t.length <= MAX_TOPIC_LENGTH).slice(0, MAX_TOPICS);
  return { topics, refused: all.length - topics.length };
}

interface Conn {
  readonly ws: WebSocket;
  readonly channels: string[];
  readonly listener: ChannelListener;
  /** Payloads that arrived before the state frame was sent; null once live. */
  held: Buffer[] | null;
  heldBytes: number;
  awaitingPong: boolean;
  closed: boolean;
  expiry: NodeJS.Timeout | null;
}

/**
 * Notify's `/notify/ws`, frame for frame: `{"kind":"connect","userID"}`, then (after the SUBSCRIBE
 * is confirmed) `{"kind":"state","state":{...}}` from `HGETALL notify:<uid>:state`, then every raw
 * payload published on `notify:<uid>` (and `notify_topic:<t>` for `?topic=`). Unlike Notify, a
 * failed login gets an error frame and a close (4500), never a half-open socket; error frames carry
 * a message and a Gregor code, no stack trace; a slow socket is cut off instead of blocking Redis.
 *
 * @example
 *   const sockets = new NotifySockets(gregord, channels);
 *   wss.handleUpgrade(req, socket, head, (ws) => sockets.accept(ws, { url, headers, cookie }));
 */
export class NotifySockets {
  readonly #gregord: Gregord;
  readonly #channels: NotifyChannels;
  readonly #conns = new Map<WebSocket, Conn>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(gregord: Gregord, channels: NotifyChannels) {
    this.#gregord = gregord;
    this.#channels = channels;
    this.#heartbeat = setInterval(() => this.#sweep(), gregord.config.heartbeatMs);
    this.#heartbeat.unref();
    // Payloads published during a Redis outage are lost: reconnecting re-reads the state.
    channels.onResubscribed(() => this.closeAll(CLOSE.RESYNC, 'notify: pub/sub was interrupted: reconnect'));
  }

  /** Open Notify sockets (counted against the gateway's connection limit). */
  get size(): number {
    return this.#conns.size;
  }

  /** Takes over an upgraded socket. */
  accept(ws: WebSocket, upgrade: NotifyUpgrade): void {
    const token = notifyToken(upgrade);
    const conn: Conn = {
      ws,
      channels: [],
      listener: (payload) => this.#forward(conn, payload),
      held: [],
      heldBytes: 0,
      awaitingPong: false,
      closed: false,
      expiry: null,
    };
    this.#conns.set(ws, conn);
    // Notify ignores client frames; so does this.
    ws.on('message', () => {});
    ws.on('pong', () => {
      conn.awaitingPong = false;
    });
    // ws has already begun the close with the right code (1007, 1009, 1002): give the close
    // frame a moment to reach the client before the socket is cut.
    ws.on('error', () => setTimeout(() => ws.terminate(), 1000).unref());
    ws.on('close', () => {
      this.#release(conn);
      this.#conns.delete(ws);
    });
    void this.#open(conn, token, upgrade.headers, notifyTopics(upgrade)).catch((e: unknown) => {
      this.#gregord.log.error({ err: e }, 'notify: socket setup failed');
      this.#fail(
        conn,
        new GregorError('INTERNAL', 'the server failed to open the stream; it is logged'),
        1011,
      );
    });
  }

  /** Closes every socket with `code` (shutdown, resync). */
  closeAll(code: number, reason: string): void {
    for (const conn of this.#conns.values()) this.#close(conn, code, reason);
  }

  /** Kills sockets that are still open, and stops the heartbeat. */
  terminate(): void {
    clearInterval(this.#heartbeat);
    for (const ws of this.#conns.keys()) ws.terminate();
  }

  async #open(
    conn: Conn,
    token: string | null,
    headers: IncomingHttpHeaders,
    { topics, refused }: { topics: string[]; refused: number },
  ): Promise<void> {
    if (!token) {
      this.#fail(
        conn,
        new GregorError('AUTH_REQUIRED', 'send Authorization: Bearer <token> or ?authorization='),
      );
      return;
    }
    // The user ID as Notify has it (the token's user_id, verbatim): Notify's keys use it as is.
    let uid: string;
    try {
      const principal = await this.#gregord.authenticate(token, 'notify', headers);
      const id = notifyIdOf(principal);
      if (id === null) throw new GregorError('FORBIDDEN', 'a service token names no user: use a user token');
      uid = id;
      if (this.#gregord.config.notifyCloseAtExpiry) this.#expireAt(conn, principal.validUntil);
    } catch (e) {
      this.#fail(conn, isGregorError(e) ? e : new GregorError('AUTH_INVALID', 'the token does not verify'));
      return;
    }
    if (conn.closed) return;
    this.#send(conn, `{"kind":"connect","userID":${goString(uid)}}`);
    // Subscribe first, then read: an update written between the two is still seen (as a payload).
    conn.channels.push(notifyKeys.user(uid), ...topics.map(notifyKeys.topic));
    await Promise.all(conn.channels.map((c) => this.#channels.listen(c, conn.listener)));
    if (conn.closed) return;
    const state = await this.#channels.state(uid);
    if (conn.closed) return;
    this.#send(conn, `{"kind":"state","state":${goStringMap(state)}}`);
    // After the state frame, so a client reading connect, then state, sees them where it expects.
    if (refused > 0) this.#refuseTopics(conn, uid, refused);
    const held = conn.held ?? [];
    conn.held = null;
    for (const payload of held) this.#forward(conn, payload);
  }

  #forward(conn: Conn, payload: Buffer): void {
    if (conn.closed) return;
    const limit = this.#gregord.config.maxBufferBytes;
    if (conn.held) {
      // Payloads waiting for the state frame count against the same limit as queued ones.
      conn.heldBytes += payload.length;
      if (conn.held.length > 0 && conn.heldBytes > limit) this.#cutOff(conn);
      else conn.held.push(payload);
      return;
    }
    const queued = conn.ws.bufferedAmount;
    if (queued > 0 && queued + payload.length > limit) {
      this.#cutOff(conn);
      return;
    }
    // As is: the published bytes go out unchanged, as a text frame (as Notify sends them).
    conn.ws.send(payload, { binary: false });
  }

  #send(conn: Conn, text: string): void {
    if (!conn.closed) conn.ws.send(text);
  }

  #fail(conn: Conn, error: GregorError, code: number = CLOSE.UNAUTHORIZED): void {
    this.#gregord.metrics.errors.inc({ code: error.code });
    this.#send(conn, JSON.stringify({ error: { message: error.message, code: error.code } }));
    this.#close(conn, code, error.code);
  }

  /** Says (log, metric, an error frame; the socket stays open) that some topics were not subscribed. */
  #refuseTopics(conn: Conn, uid: string, refused: number): void {
    const message = `topic: ${refused} topic(s) not subscribed: at most ${MAX_TOPICS} topics of ${MAX_TOPIC_LENGTH} characters each`;
    this.#gregord.log.warn({ uid, refused }, `notify: ${message}`);
    this.#gregord.metrics.notifyTopicsRefused.inc(refused);
    this.#gregord.metrics.errors.inc({ code: 'GREGOR_ERR_INVALID_ARGUMENT' });
    this.#send(conn, JSON.stringify({ error: { message, code: 'GREGOR_ERR_INVALID_ARGUMENT' } }));
  }

  #cutOff(conn: Conn): void {
    this.#gregord.metrics.slowConsumers.inc();
    this.#close(conn, CLOSE.SLOW_CONSUMER, 'send buffer full: reconnect');
    // Its close frame waits behind the full buffer: do not wait for a reader that is not reading.
    setTimeout(() => conn.ws.terminate(), 1000).unref();
  }

  #expireAt(conn: Conn, validUntil: number | null): void {
    if (validUntil === null) return;
    const ms = validUntil - Date.now();
    if (ms > MAX_TIMER_MS) return;
    conn.expiry = setTimeout(
      () => this.#close(conn, CLOSE.TOKEN_EXPIRED, 'the token expired'),
      Math.max(0, ms),
    );
    conn.expiry.unref();
  }

  #close(conn: Conn, code: number, reason: string): void {
    if (conn.closed) return;
    this.#release(conn);
    conn.ws.close(code, reason);
  }

  /** Drops the socket's subscriptions; safe to call twice. */
  #release(conn: Conn): void {
    conn.closed = true;
    conn.held = null;
    if (conn.expiry) clearTimeout(conn.expiry);
    for (const channel of conn.channels.splice(0)) this.#channels.unlisten(channel, conn.listener);
  }

  #sweep(): void {
    for (const conn of [...this.#conns.values()]) {
      if (conn.closed) {
        // Closed a heartbeat ago and still no close handshake: the peer is gone.
        conn.ws.terminate();
        continue;
      }
      if (conn.awaitingPong) {
        this.#close(conn, CLOSE.HEARTBEAT_TIMEOUT, 'no pong within the heartbeat interval');
        conn.ws.terminate();
        continue;
      }
      conn.awaitingPong = true;
      conn.ws.ping();
    }
  }
}

/**
 * A string as Go's encoding/json writes it (Notify's frames, byte for byte): JSON's escapes plus
 * `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`-style escapes.
 */
function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A map[string]string as Go writes it: keys sorted by their bytes (UTF-8), values as goString. */
function goStringMap(map: Record<string, string>): string {
  const keys = Object.keys(map).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goString(k)}:${goString(map[k]!)}`).join(',')}}`;
}
