import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CLOSE } from '../protocol/close-codes.js';
import { readCookie } from './cookie.js';
import type { Gregord } from './gregord.js';
import { NOTIFY_WS_PATH, type NotifySockets } from './notify/index.js';
import { PreAuthBudget } from './pre-auth.js';
import { writeRefusal } from './raw-refusal.js';
import { Session, type UpgradeInfo } from './session.js';

export const WS_PATH = '/v1/ws';

export interface GatewayOptions {
  /** A path prefix for the sockets (an app mounting Gregor under `/gregor`): `<base>/v1/ws`. */
  readonly basePath?: string;
  /**
   * True when the HTTP server is Gregor's own: an upgrade to any other path is refused (404).
   * False when Gregor shares an app's server: other paths are left to the app's own listeners.
   */
  readonly exclusive?: boolean;
}

/**
 * The WebSocket adapter: checks the upgrade (path, Origin where cookies authenticate, connection
 * limit), then hands the socket to a Session through the small SocketLike interface. Also runs the
 * heartbeat: one sweep for all sockets, a socket that missed its pong is closed.
 */
export class WebSocketGateway {
  readonly #gregord: Gregord;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<WebSocket, Session>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Notify's `/notify/ws` (only when Redis is configured). */
  readonly #notify: NotifySockets | null;
  readonly #preAuth: PreAuthBudget;
  readonly #wsPath: string;
  readonly #notifyPath: string;
  readonly #exclusive: boolean;

  constructor(gregord: Gregord, notify: NotifySockets | null = null, options: GatewayOptions = {}) {
    this.#gregord = gregord;
    this.#notify = notify;
    const base = options.basePath ?? '';
    this.#wsPath = `${base}${WS_PATH}`;
    this.#notifyPath = `${base}${NOTIFY_WS_PATH}`;
    this.#exclusive = options.exclusive ?? true;
    // maxPayload bounds one frame's memory; compression is off: it costs CPU per device on fan-out.
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: gregord.config.maxMessageBytes,
      perMessageDeflate: false,
    });
    // An upgrade that is not a valid WebSocket handshake (key, version, method) gets a coded refusal.
    this.#wss.on('wsClientError', (error: Error, socket: Duplex) =>
      writeRefusal(socket, 400, 'GREGOR_ERR_BAD_REQUEST', `not a valid WebSocket upgrade: ${error.message}`),
    );
    this.#preAuth = new PreAuthBudget(gregord.config.maxPendingAuth, gregord.config.maxPendingAuthPerAddress);
    this.#heartbeat = setInterval(() => this.#sweep(), gregord.config.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Authenticated connections (sockets still authenticating have their own budget). */
  get connections(): number {
    return this.#gregord.deviceCount + (this.#notify?.size ?? 0);
  }

  /** Whether an upgrade to this request target is Gregor's to answer. */
  #owns(target: string | undefined): boolean {
    if (this.#exclusive) return true;
    const path = (target ?? '/').split('?')[0];
    return path === this.#wsPath || path === this.#notifyPath;
  }

  /**
   * Handles an HTTP upgrade request (wire to `server.on('upgrade')`). It runs before any
   * authentication, so nothing in it may throw past it: a request it cannot read is refused.
   * On a shared server, an upgrade to another path is left to the app's own listeners when it has
   * any (`othersListen`), and refused otherwise.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, othersListen = false): void {
    if (othersListen && !this.#owns(request.url)) return;
    // Until ws takes the socket over, a reset from the peer must not become an uncaught 'error'.
    socket.on('error', destroyOnError);
    try {
      this.#upgrade(request, socket, head);
    } catch (e) {
      this.#gregord.log.error({ err: e }, 'upgrade failed');
      refuse(socket, [500, 'GREGOR_ERR_INTERNAL', 'the server failed to handle the upgrade; it is logged']);
    }
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      refuse(socket, [400, 'GREGOR_ERR_BAD_REQUEST', 'the request target is not a valid URL']);
      return;
    }
    const config = this.#gregord.config;
    const cookieToken = config.authCookie ? readCookie(request.headers.cookie, config.authCookie) : null;
    const refusal = this.#refusal(url, request.headers, cookieToken);
    if (refusal) {
      refuse(socket, refusal);
      return;
    }
    const headers = request.headers;
    if (url.pathname === this.#notifyPath) {
      const notify = this.#notify!;
      this.#wss.handleUpgrade(request, socket, head, (ws) =>
        notify.accept(ws, {
          url,
          headers,
          cookie: cookieToken,
          firstTopicHeader: request.headersDistinct.topic?.[0],
        }),
      );
      return;
    }
    const place = this.#preAuth.take(request.socket.remoteAddress ?? '');
    if (typeof place === 'string') {
      refuse(
        socket,
        place === 'server'
          ? [503, 'GREGOR_ERR_TOO_MANY_CONNECTIONS', 'too many sockets are waiting to authenticate']
          : [
              429,
              'GREGOR_ERR_TOO_MANY_CONNECTIONS',
              'too many sockets from this address are waiting to authenticate',
            ],
      );
      return;
    }
    // The raw socket's close releases the place too, also when the upgrade never completes.
    socket.once('close', place);
    const info: UpgradeInfo = {
      token: headers.authorization ?? cookieToken,
      headers,
      device: url.searchParams.get('device'),
      uid: url.searchParams.get('uid'),
      authenticated: () => {
        socket.removeListener('close', place);
        place();
      },
    };
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      socket.removeListener('error', destroyOnError); // ws listens for errors from here on
      this.#attach(ws, info);
    });
  }

  /**
   * Gives an upgraded socket its Session. A method of its own so that the socket's listeners
   * capture only the socket and the session: closures made inside handleUpgrade would keep its
   * URL and headers alive for as long as the connection lasts.
   */
  #attach(ws: WebSocket, info: UpgradeInfo): void {
    const session = new Session(
      this.#gregord,
      {
        send: (text) => ws.send(text, { binary: false }),
        close: (code, reason) => ws.close(code, reason),
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
      },
      info,
    );
    this.#sessions.set(ws, session);
    ws.on('message', (data, isBinary) => {
      if (isBinary) session.onFrame('\u0000');
      else session.onFrame(data.toString());
    });
    ws.on('pong', () => {
      session.awaitingPong = false;
    });
    // ws has already begun the close with the right code (1007, 1009, 1002): give the close
    // frame a moment to reach the client before the socket is cut.
    ws.on('error', () => setTimeout(() => ws.terminate(), 1000).unref());
    ws.on('close', () => {
      this.#sessions.delete(ws);
      session.onClose();
    });
  }

  /** Why an upgrade is refused ([HTTP status, error code, message]), or null to accept it. */
  #refusal(
    url: URL,
    headers: IncomingHttpHeaders,
    cookieToken: string | null,
  ): [number, string, string] | null {
    const config = this.#gregord.config;
    const notify = url.pathname === this.#notifyPath;
    const origin = headers.origin;
    if (!notify && url.pathname !== this.#wsPath) {
      return [404, 'GREGOR_ERR_NOT_FOUND', `WebSockets live at ${this.#wsPath}`];
    }
    if (notify && !this.#notify) {
      return [503, 'GREGOR_ERR_NOT_READY', `${this.#notifyPath} needs Redis: set redis-url`];
    }
    if (this.#gregord.draining) return [503, 'GREGOR_ERR_NOT_READY', 'the server is shutting down'];
    if (this.connections >= config.maxConnections) {
      return [503, 'GREGOR_ERR_TOO_MANY_CONNECTIONS', 'the server is at its connection limit'];
    }
    // A cookie is sent by the browser whatever page opens the socket: only allowed Origins may use
    // it. Browsers always send an Origin; a client without one is not a browser, and holds the
    // cookie itself. A token in the header or the URL is not ambient authority: any Origin.
    // The cookie authenticates where it wins: always on Notify's socket, without a header here.
    const cookieAuth = cookieToken !== null && (notify || !headers.authorization);
    const mustCheckOrigin = cookieAuth && origin !== undefined;
    if (mustCheckOrigin && !config.allowedOrigins.includes(origin)) {
      return [403, 'GREGOR_ERR_ORIGIN_FORBIDDEN', `Origin ${origin} is not allowed`];
    }
    return null;
  }

  /** Closes every socket with `code` (shutdown). */
  closeAll(code: number, reason: string): void {
    clearInterval(this.#heartbeat);
    for (const session of this.#sessions.values()) session.close(code, reason);
    this.#notify?.closeAll(code, reason);
  }

  /** Kills sockets that have not closed within `ms` after closeAll. */
  async terminateAfter(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#sessions.size + (this.#notify?.size ?? 0) > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.#sessions.keys()) ws.terminate();
    this.#notify?.terminate();
    this.#wss.close();
  }

  #sweep(): void {
    for (const [ws, session] of this.#sessions) {
      if (session.awaitingPong) {
        session.close(CLOSE.HEARTBEAT_TIMEOUT, 'no pong within the heartbeat interval');
        ws.terminate();
        continue;
      }
      session.awaitingPong = true;
      ws.ping();
    }
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function refuse(socket: Duplex, [status, code, message]: [number, string, string]): void {
  writeRefusal(socket, status, code, message);
}
