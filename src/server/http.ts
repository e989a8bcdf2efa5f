import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ERROR_CODES, GregorError, isGregorError } from '../protocol/errors.js';
import { messageToWire, stateBlob } from '../protocol/message.js';
import { parseTimeOrOffset, toWireTime } from '../protocol/time.js';
import { id, parseMessage } from '../protocol/validate.js';
import type { Principal } from './auth.js';
import type { Gregord } from './gregord.js';
import { registerNotifyRoutes } from './notify/index.js';
import { OPENAPI } from './openapi.js';
import { writeRefusal } from './raw-refusal.js';

type UidParams = { Params: { uid: string } };

/**
 * Gregor's own Fastify instance, for `gregor serve` and `Gregor.listen()`: the HTTP API plus the
 * server-wide limits an embedding app sets for itself (request timeouts, parameter length, how
 * malformed requests are refused).
 */
export function buildHttp(gregord: Gregord): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: gregord.config.maxMessageBytes,
    // A request must arrive whole in time: a body sent a byte at a time cannot hold a socket
    // forever. Node reads these when the server is made (setting them later has no effect), and
    // checks them every 30 s by default: often enough for the limit to hold.
    http: {
      requestTimeout: gregord.config.requestTimeoutMs,
      headersTimeout: Math.min(60_000, gregord.config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(5000, Math.max(100, gregord.config.requestTimeoutMs / 4)),
    },
    requestTimeout: gregord.config.requestTimeoutMs,
    // IDs are up to 128 characters (Fastify's default of 100 would answer 414 to legal user IDs).
    routerOptions: { maxParamLength: 256 },
    // `__proto__` is a legal item ID and body key (stored and sent like any other): JSON.parse
    // makes it an own property, and nothing here merges request objects into others.
    onProtoPoisoning: 'ignore',
    // A target the router cannot decode (`//%zz`, `http://[/`) or a parameter over the length
    // limit gets a coded 400 like every refusal.
    frameworkErrors: (error, _request, reply) =>
      sendError(
        gregord,
        reply,
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new GregorError('INVALID_ARGUMENT', 'uid: over the limit of 128 characters')
          : new GregorError('BAD_REQUEST', `the request target is malformed (${error.code})`),
      ),
    // Errors of the HTTP framing layer (before any route runs) get coded bodies too.
    clientErrorHandler: (error, socket) => refuseMalformed(gregord, error, socket),
  });

  app.setNotFoundHandler((request, reply) => notFound(gregord, request, reply));
  void app.register(httpApi, { gregord });
  return app;
}

/** Answers a request for a route that does not exist with a coded 404. */
export function notFound(gregord: Gregord, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(
    gregord,
    reply,
    new GregorError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

/**
 * The HTTP API for backends (and users, on their own state), as an encapsulated Fastify plugin:
 * its body parsers and error handler stay inside it, so it mounts into an app that has its own.
 * Every route but health, readiness, metrics and the OpenAPI document requires a token: a service
 * token acts for any user, a user token only for its own user.
 *
 * @example
 *   await app.register(httpApi, { gregord, prefix: '/gregor' });
 */
export async function httpApi(app: FastifyInstance, { gregord }: { gregord: Gregord }): Promise<void> {
  // Messages are JSON: any other body gets a clear 415, not a confusing validation error.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error, request, reply) =>
    sendError(gregord, reply, toGregorError(error, request, gregord)),
  );
  const bodyLimit = gregord.config.maxMessageBytes;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = await gregord.readiness();
    return reply
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(gregord.metrics.registry.contentType).send(await gregord.metrics.registry.metrics()),
  );
  app.get('/openapi.json', async () => OPENAPI);
  // Notify compatibility (docs/notify.md) comes with Redis, like /notify/ws.
  if (gregord.config.redisUrl) registerNotifyRoutes(app, gregord);

  app.post<UidParams>('/v1/users/:uid/messages', { bodyLimit }, async (request) => {
    const { uid, principal } = await authorize(gregord, request);
    const message = parseMessage(request.body, { uid, now: Date.now() });
    const { msgId, result } = await gregord.consume(message, 'http', principal);
    return { msg_id: msgId, seq: result.seq, status: result.status };
  });

  app.post<UidParams>('/v1/users/:uid/flush', { bodyLimit }, async (request) => {
    const { uid, principal } = await authorize(gregord, request);
    const message = parseMessage({ system: 'gregor', body: { flush: true } }, { uid, now: Date.now() });
    const { msgId, result } = await gregord.consume(message, 'http', principal);
    return { msg_id: msgId, seq: result.seq, status: result.status };
  });

  app.get<UidParams & { Querystring: { device?: string; at?: string } }>(
    '/v1/users/:uid/state',
    async (request) => {
      const { uid } = await authorize(gregord, request);
      const device = optionalId(request.query.device, 'device');
      const at = request.query.at === undefined ? null : parseTimeOrOffset(request.query.at, 'at');
      const state = await gregord.store.state(uid, device, at);
      return {
        uid,
        device,
        at: state.at === null ? null : toWireTime(state.at),
        cursor: state.seq,
        hash: state.hash,
        items: stateBlob(state.items),
      };
    },
  );

  app.get<UidParams & { Querystring: { device?: string; after?: string; since?: string; limit?: string } }>(
    '/v1/users/:uid/messages',
    async (request) => {
      const { uid } = await authorize(gregord, request);
      const q = request.query;
      const device = optionalId(q.device, 'device');
      if (q.since !== undefined) {
        const messages = await gregord.store.inBandMessagesSince(
          uid,
          device,
          parseTimeOrOffset(q.since, 'since'),
        );
        return { messages: messages.map(messageToWire) };
      }
      const after = whole(q.after ?? '0', 'after');
      const limit = Math.min(whole(q.limit ?? '1000', 'limit'), 10_000);
      const page = await gregord.store.messagesAfter(uid, device, after, limit);
      return {
        cursor: page.seq,
        truncated: page.truncated,
        messages: page.messages.map(({ seq, message }) => ({ ...messageToWire(message), seq })),
      };
    },
  );

  app.get<UidParams>('/v1/users/:uid/devices', async (request) => {
    const { uid } = await authorize(gregord, request);
    return {
      devices: gregord
        .devices(uid)
        .map((d) => ({ device: d.device, connected_at: toWireTime(d.connectedAt) })),
    };
  });
}

/** The caller's token must act for `:uid`: a service token for anyone, a user token for itself. */
async function authorize(
  gregord: Gregord,
  request: FastifyRequest<UidParams>,
): Promise<{ uid: string; principal: Principal }> {
  const uid = optionalId(request.params.uid, 'uid');
  if (uid === null) throw new GregorError('INVALID_ARGUMENT', 'uid: the path must name a user');
  const header = request.headers.authorization;
  if (!header) throw new GregorError('AUTH_REQUIRED', 'send Authorization: Bearer <token>');
  const principal = await gregord.authenticate(header, 'http', request.headers);
  if (principal.kind === 'user' && principal.uid !== uid) {
    throw new GregorError('FORBIDDEN', 'a user token acts only for its own user');
  }
  return { uid, principal };
}

function optionalId(value: string | undefined, name: string): string | null {
  if (value === undefined || value === '') return null;
  try {
    return id(value, name);
  } catch (e) {
    throw new GregorError('INVALID_ARGUMENT', (e as Error).message);
  }
}

function whole(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw new GregorError('INVALID_ARGUMENT', `${name}: expected a whole number`);
  return Number(value);
}

function toGregorError(error: unknown, request: FastifyRequest, gregord: Gregord): GregorError {
  if (isGregorError(error)) return error;
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GregorError('TOO_LARGE', `body: over the limit of ${gregord.config.maxMessageBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GregorError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GregorError('INVALID_MESSAGE', 'body: empty; send a JSON message');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GregorError('INVALID_MESSAGE', 'body: Content-Length does not match the body');
  }
  if (error instanceof SyntaxError || (error as { statusCode?: number }).statusCode === 400) {
    return new GregorError('BAD_JSON', `body: ${(error as Error).message}`);
  }
  gregord.log.error({ err: error, url: request.url }, 'unhandled error');
  return new GregorError('INTERNAL', 'the server failed to handle the request; it is logged');
}

/** Statuses Node's HTTP parser uses for what it refuses, and the code each gets. */
const CLIENT_ERRORS: Record<string, [number, GregorError['kind'], string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request did not arrive whole in time'],
  HPE_HEADER_OVERFLOW: [431, 'TOO_LARGE', 'the request headers are too large'],
};

/** Answers what Node's HTTP parser refused (bad framing, a timeout) with a coded body, then closes. */
function refuseMalformed(gregord: Gregord, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, kind, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'BAD_REQUEST',
    `the HTTP request is malformed (${error.code ?? 'unreadable'})`,
  ];
  gregord.metrics.errors.inc({ code: ERROR_CODES[kind].code });
  // Node's own rule: once a response has begun, nothing more can be written on the socket.
  const response = (socket as { _httpMessage?: { _headerSent?: boolean } })._httpMessage;
  if (!socket.writable || response?._headerSent) socket.destroy();
  else writeRefusal(socket, status, ERROR_CODES[kind].code, message);
}

function sendError(gregord: Gregord, reply: FastifyReply, error: GregorError): FastifyReply {
  gregord.metrics.errors.inc({ code: error.code });
  return reply.code(error.status).send(error.toJSON());
}
