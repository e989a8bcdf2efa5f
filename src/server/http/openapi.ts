import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { roleOf } from './authenticate.js';
import { SHARED_SCHEMAS } from './schemas.js';

/** The decorator of the scope's document: not `swagger`, which an app mounting Gregor may have. */
const DECORATOR = 'gregorOpenapi';

function description(prefix: string, notify: boolean): string {
  return [
    "Keeps each user's notification state in sync across their devices and pushes every change to them.",
    'Messages use the wire format of docs/protocol.md. A backend injects them here with a service token; a user token acts only for its own user.',
    `**Devices** connect over WebSocket at \`${prefix}/v1/ws?device=<deviceID>\` (not an HTTP route, so not listed below): they authenticate with \`Authorization: Bearer <jwt>\` on the upgrade, the auth cookie, or a first frame \`{"type":"auth","token":"<jwt>"}\`; the server answers \`hello\`; the device sends \`{"type":"sync","cursor"?,"hash"?}\` and gets \`synced\`, \`messages\` or \`state\`, then every change as a \`message\` frame. Devices send \`consume\` (acknowledged with \`ack\` once durable) and \`ping\`. Frames, limits and close codes: docs/protocol.md, "Devices over WebSocket".`,
    ...(notify
      ? [
          `**Notify** clients connect at \`${prefix}/notify/ws\` (WebSocket, Notify's frames) and authenticate with the Twirp route below (docs/notify.md).`,
        ]
      : []),
    'Every refusal is `{code, message}` with a stable `GREGOR_ERR_*` code. Besides the responses listed per route, the HTTP layer may answer any request with 400 `GREGOR_ERR_BAD_REQUEST` (malformed framing or target), 408 `GREGOR_ERR_REQUEST_TIMEOUT` (the request did not arrive in time), 431 `GREGOR_ERR_TOO_LARGE` (headers too large), and a path that is no route with 404 `GREGOR_ERR_NOT_FOUND`.',
  ].join('\n\n');
}

/**
 * Generates the scope's OpenAPI 3.1 document from its route schemas (@fastify/swagger): it sees
 * exactly the routes registered in this scope after it, with their prefix. Each route's security
 * comes from the role it declares (none on public routes). Returns the document's getter, valid
 * once the scope is ready.
 *
 * @example
 *   const openapi = await documentRoutes(app, { notify: false });
 *   app.get('/openapi.json', { config: { auth: 'public' } }, async () => openapi());
 */
export async function documentRoutes(
  app: FastifyInstance,
  { notify }: { notify: boolean },
): Promise<() => unknown> {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Gregor', version: '0.1.0', description: description(app.prefix, notify) },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'users', description: "A user's state and history" },
        { name: 'operations', description: 'Health, readiness, metrics, this document' },
        ...(notify ? [{ name: 'notify', description: 'Notify compatibility (docs/notify.md)' }] : []),
      ],
    },
    decorator: DECORATOR,
    // Shared schemas are components under their `$id` (GregorError, Item, Message, NewMessage).
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url, route }) => ({
      schema: { ...schema, security: roleOf(route) === 'public' ? [] : [{ bearer: [] }] },
      url,
    }),
  });
  return () => app.getDecorator<() => unknown>(DECORATOR)();
}
