import type { FastifyInstance } from 'fastify';
import { GregorError } from '../../protocol/errors.js';
import type { Gregord } from '../gregord.js';
import type { AuthConfig } from '../http/authenticate.js';
import { sendError } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { NOTIFY_WS_PATH } from './sockets.js';

/**
 * `GET /notify/ws` without a WebSocket upgrade: HTTP 400, as Notify answers it (its WebSocket
 * library refuses a request that is not a handshake), instead of the 404 of a path that is no
 * route. Upgrades never reach it: the WebSocket gateway takes them first. Registered only with
 * Notify compatibility (Redis).
 *
 * @example
 *   await app.register(notifyWsRoute, { gregord }); // curl http://127.0.0.1:7300/notify/ws → 400
 */
export async function notifyWsRoute(app: FastifyInstance, { gregord }: { gregord: Gregord }): Promise<void> {
  app.get(
    NOTIFY_WS_PATH,
    {
      config: { auth: 'public' } satisfies AuthConfig,
      schema: {
        operationId: 'notifyWebSocket',
        summary: "Notify's WebSocket (docs/notify.md): a plain GET without the upgrade is refused",
        description:
          'Open it as a WebSocket (Notify\'s frames: `{"kind":"connect"}`, `{"kind":"state"}`, then raw payloads). A request that is not a WebSocket handshake gets 400, as in Notify.',
        tags: ['notify'],
        response: errorResponses(['BAD_REQUEST']),
      },
    },
    async (_request, reply) =>
      sendError(
        gregord,
        reply,
        new GregorError('BAD_REQUEST', `${NOTIFY_WS_PATH} is a WebSocket: send an upgrade request`),
      ),
  );
}
