import type { IncomingHttpHeaders } from 'node:http';
import { CLOSE } from '../protocol/close-codes.js';
import { GregorError, isGregorError } from '../protocol/errors.js';
import { type ClientFrame, parseClientFrame } from '../protocol/frames.js';
import { toWireTime } from '../protocol/time.js';
import { parseMessage } from '../protocol/validate.js';
import type { Principal } from './auth.js';
import { DeviceConnection } from './device.js';
import type { Gregord } from './gregord.js';
import { MAX_GREGOR_UID } from './notify/identity.js';
import type { SocketLike } from './socket.js';

/** What the WebSocket adapter learned from the upgrade request. */
export interface UpgradeInfo {
  /** A token from the Authorization header or the auth cookie, if any. */
  readonly token: string | null;
  /** `?device=`: the device ID, when the token does not name one. */
  readonly device: string | null;
  /** `?uid=`: the user a service token acts for. */
  readonly uid: string | null;
  /** The upgrade request's headers, for extensions' onAuthenticate. */
  readonly headers: IncomingHttpHeaders;
  /** Gives back the socket's place in the pre-authentication budget (idempotent). */
  readonly authenticated: () => void;
}

/**
 * One WebSocket from upgrade to close: authentication (header, cookie or a first `auth` frame,
 * within a deadline), then the device's frames (sync, consume, ping) under a rate limit. Owns
 * the pre-auth limits; the per-user work goes to the hub and pipeline through the user's lane.
 */
export class Session {
  readonly #server: Gregord;
  readonly #socket: SocketLike;
  /** What the upgrade said; dropped once authenticated, so an idle session keeps none of it. */
  #info: UpgradeInfo | null;
  #conn: DeviceConnection | null = null;
  /** Who authenticated: beforeConsume hooks see it. */
  #principal: Principal | null = null;
  #authTimer: NodeJS.Timeout | null;
  #expiryTimer: NodeJS.Timeout | null = null;
  #tokens: number;
  #refilledAt = Date.now();
  #authenticating = false;
  #closed = false;
  /** Set by the heartbeat sweep, cleared by pong. */
  awaitingPong = false;

  constructor(server: Gregord, socket: SocketLike, info: UpgradeInfo) {
    this.#server = server;
    this.#socket = socket;
    this.#info = info;
    this.#tokens = server.config.rateLimitBurst;
    this.#authTimer = setTimeout(
      () => this.#fail(CLOSE.AUTH_TIMEOUT, 'AUTH_REQUIRED', 'authenticate within the deadline'),
      server.config.authTimeoutMs,
    );
    if (info.token) void this.#authenticate(info.token);
  }

  /** A text frame from the client. */
  onFrame(text: string): void {
    if (this.#closed) return;
    if (!this.#takeToken()) {
      this.#fail(
        CLOSE.RATE_LIMITED,
        'RATE_LIMITED',
        `more than ${this.#server.config.rateLimitPerSecond} frames per second`,
      );
      return;
    }
    let frame: ClientFrame;
    try {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new GregorError('BAD_JSON', 'frame: not valid JSON');
      }
      frame = parseClientFrame(value);
    } catch (e) {
      this.#reply(e, undefined);
      return;
    }
    if (!this.#conn) {
      if (frame.type !== 'auth' || this.#authenticating) {
        this.#fail(
          CLOSE.PROTOCOL_ERROR,
          'AUTH_REQUIRED',
          'the first frame must be {"type":"auth","token":...}',
        );
      } else void this.#authenticate(frame.token);
      return;
    }
    void this.#handle(this.#conn, frame);
  }

  /** The socket closed (either side). */
  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    const conn = this.#conn;
    if (conn) {
      conn.close(CLOSE.NORMAL, 'closed');
      this.#server.detach(conn);
    }
  }

  close(code: number, reason: string): void {
    if (this.#conn) this.#conn.close(code, reason);
    else this.#socket.close(code, reason);
  }

  async #authenticate(token: string): Promise<void> {
    this.#authenticating = true;
    let principal: Principal;
    try {
      principal = await this.#server.authenticate(token, 'websocket', this.#info?.headers ?? {});
    } catch (e) {
      if (!isGregorError(e)) this.#server.log.error({ err: e }, 'authentication failed');
      const err = isGregorError(e) ? e : new GregorError('INTERNAL', 'the server failed to check the token');
      this.#fail(refusalCloseCode(err), err.kind, err.message);
      return;
    }
    if (this.#closed) return;
    try {
      const { uid, device } = this.#identity(principal);
      const conn = new DeviceConnection(
        uid,
        device,
        this.#socket,
        this.#server.config.maxBufferBytes,
        this.#server.metrics,
      );
      conn.beginSync(); // live messages wait for the device's first sync
      await this.#server.attach(conn, principal);
      if (this.#closed) {
        this.#server.detach(conn);
        return;
      }
      this.#conn = conn;
      this.#principal = principal;
      this.#info?.authenticated();
      this.#info = null;
      this.#clearTimers();
      if (principal.validUntil !== null) {
        const left = Math.max(0, principal.validUntil - Date.now());
        this.#expiryTimer = setTimeout(
          () => this.close(CLOSE.TOKEN_EXPIRED, 'the token expired'),
          Math.min(left, 2 ** 31 - 1),
        );
      }
      conn.send({
        type: 'hello',
        uid,
        device,
        server_time: toWireTime(Date.now()),
        heartbeat_ms: this.#server.config.heartbeatMs,
      });
    } catch (e) {
      const err = isGregorError(e) ? e : new GregorError('INTERNAL', 'could not attach the device');
      if (!isGregorError(e)) this.#server.log.error({ err: e }, 'attach failed');
      this.#fail(refusalCloseCode(err), err.kind, err.message);
    }
  }

  #identity(p: Principal): { uid: string; device: string } {
    const info = this.#info;
    if (!info) throw new GregorError('INVALID_FRAME', 'type: already authenticated');
    if (p.kind === 'user' && p.uid === null) {
      throw new GregorError(
        'FORBIDDEN',
        `the token's user ID is over ${MAX_GREGOR_UID} characters once encoded for Gregor (docs/notify.md, "User IDs"): it works on /notify/ws only`,
      );
    }
    const uid = p.kind === 'service' ? info.uid : p.uid;
    if (!uid) throw new GregorError('FORBIDDEN', 'a service token must name the user with ?uid=');
    if (p.kind === 'user' && info.uid && info.uid !== uid) {
      throw new GregorError('FORBIDDEN', 'a user token acts only for its own user');
    }
    if (p.device && info.device && p.device !== info.device) {
      throw new GregorError('FORBIDDEN', "the device in the URL differs from the token's device_id");
    }
    return {
      uid,
      device: p.device ?? info.device ?? `anon-${Math.random().toString(36).slice(2, 12)}`,
    };
  }

  async #handle(conn: DeviceConnection, frame: ClientFrame): Promise<void> {
    const ref = 'ref' in frame ? frame.ref : undefined;
    try {
      switch (frame.type) {
        case 'ping':
          conn.send({ type: 'pong', ...(ref ? { ref } : {}), server_time: toWireTime(Date.now()) });
          return;
        case 'sync':
          await this.#server.sync(conn, frame);
          return;
        case 'consume': {
          const message = parseMessage(frame.message, {
            uid: conn.uid,
            now: Date.now(),
            device: conn.device,
          });
          const { msgId, result } = await this.#server.consume(message, 'websocket', this.#principal);
          conn.send({
            type: 'ack',
            ...(ref ? { ref } : {}),
            msg_id: msgId,
            seq: result.seq,
            status: result.status,
          });
          return;
        }
        case 'auth':
          throw new GregorError('INVALID_FRAME', 'type: already authenticated');
      }
    } catch (e) {
      this.#reply(e, ref);
    }
  }

  #reply(e: unknown, ref: string | undefined): void {
    const err = isGregorError(e) ? e : new GregorError('INTERNAL', 'the server failed to handle the frame');
    if (!isGregorError(e)) this.#server.log.error({ err: e }, 'frame handling failed');
    this.#server.metrics.errors.inc({ code: err.code });
    const frame = { type: 'error' as const, ...(ref ? { ref } : {}), code: err.code, message: err.message };
    if (this.#conn) this.#conn.send(frame);
    else this.#socket.send(JSON.stringify(frame));
  }

  /** Sends a coded error, then closes: a failed login never leaves a half-open socket. */
  #fail(close: number, kind: GregorError['kind'], message: string): void {
    if (this.#closed) return;
    const err = new GregorError(kind, message);
    this.#server.metrics.errors.inc({ code: err.code });
    this.#socket.send(JSON.stringify({ type: 'error', code: err.code, message }));
    this.close(close, message.slice(0, 120));
  }

  /** Token bucket: `rateLimitPerSecond` sustained, `rateLimitBurst` at once. */
  #takeToken(): boolean {
    const { rateLimitPerSecond, rateLimitBurst } = this.#server.config;
    const now = Date.now();
    this.#tokens = Math.min(
      rateLimitBurst,
      this.#tokens + ((now - this.#refilledAt) / 1000) * rateLimitPerSecond,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #clearTimers(): void {
    if (this.#authTimer) clearTimeout(this.#authTimer);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#authTimer = null;
    this.#expiryTimer = null;
  }
}

/**
 * The close code of a refused login (a token, limits, an extension's hook): final (45xx) only for
 * what retrying cannot fix; retry codes for what may pass later (a database or a JWKS that is
 * down, a limit).
 */
function refusalCloseCode(err: GregorError): number {
  switch (err.kind) {
    case 'AUTH_EXPIRED':
      return CLOSE.TOKEN_EXPIRED;
    case 'TOO_MANY_CONNECTIONS':
    case 'RATE_LIMITED':
      return CLOSE.TOO_MANY_CONNECTIONS;
    case 'NOT_READY':
    case 'INTERNAL':
    case 'STORAGE_FAILED':
    case 'STORAGE_UNAVAILABLE':
    case 'STORAGE_FULL':
      return CLOSE.SERVER_RESTART;
    default:
      return CLOSE.UNAUTHORIZED;
  }
}
