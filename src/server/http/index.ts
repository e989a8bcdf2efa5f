import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { GregorError } from '../../protocol/errors.js';
import type { Gregord } from '../gregord.js';
import { notifyTwirp } from '../notify/twirp.js';
import { notifyWsRoute } from '../notify/ws-route.js';
import { enforceRoles } from './authenticate.js';
import { refuseMalformed, sendError, toGregorError } from './errors.js';
import { documentRoutes } from './openapi.js';
import { operationRoutes } from './routes/operations.js';
import { userRoutes } from './routes/users.js';

/**
 * Gregor's own Fastify instance, for `gregor serve` and `Gregor.listen()`: the HTTP API plus the
 * server-wide limits an embedding app sets for itself (request timeouts, parameter length, how
 * malformed requests are refused).
 *
 * @example
 *   const app = buildHttp(gregord);
 *   await app.listen({ port: 7300 });
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
    ...routingOptions(gregord),
    // Errors of the HTTP framing layer (before any route runs) get coded bodies too.
    clientErrorHandler: (error, socket) => refuseMalformed(gregord, error, socket),
  });

  app.setNotFoundHandler((request, reply) => notFound(gregord, request, reply));
  void app.register(httpApi, { gregord });
  return app;
}

/**
 * How requests are routed, for every Fastify instance Gregor makes (its own server, and the
 * handler behind `gregor.handle`): legal IDs fit, `__proto__` is data, and a target the router
 * cannot read gets a coded answer.
 */
export function routingOptions(gregord: Gregord): FastifyServerOptions {
  return {
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
  };
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
 * its body parsers, error handler, authentication hook and OpenAPI document stay inside it, so it
 * mounts into an app that has its own. Every route declares who may call it (`config.auth`) and
 * has JSON Schemas for its arguments, body and every response, from which `/openapi.json` is
 * generated.
 *
 * Request schemas document; Gregor's validators validate. `parseMessage` checks a message as it
 * does over WebSocket, and path and query arguments get coded errors that name them, so Fastify's
 * own validation (generic errors, coercion, removal of unknown fields) is off in this scope.
 *
 * @example
 *   await app.register(httpApi, { gregord, prefix: '/gregor' });
 */
export async function httpApi(app: FastifyInstance, { gregord }: { gregord: Gregord }): Promise<void> {
  const notify = Boolean(gregord.config.redisUrl);
  app.setValidatorCompiler(() => () => true);
  // Messages are JSON: any other body gets a clear 415, not a confusing validation error.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error, request, reply) =>
    sendError(gregord, reply, toGregorError(error, request, gregord)),
  );
  enforceRoles(app, gregord);
  const openapi = await documentRoutes(app, { notify });

  await app.register(operationRoutes, { gregord, openapi });
  await app.register(userRoutes, { gregord });
  // Notify compatibility (docs/notify.md) comes with Redis, like /notify/ws.
  if (notify) {
    await app.register(notifyTwirp, { gregord });
    await app.register(notifyWsRoute, { gregord });
  }
}
