import type { FastifyInstance, FastifyReply } from 'fastify';
import { GregorError, isGregorError } from '../../protocol/errors.js';
import type { Gregord } from '../gregord.js';

export const TWIRP_AUTH_PATH = '/twirp/notify.NotifyService/Auth';

/** Twirp's error codes used here, with the HTTP status Twirp gives each. */
const TWIRP = {
  malformed: 400,
  unauthenticated: 401,
  internal: 500,
} as const;
type TwirpCode = keyof typeof TWIRP;

/**
 * Notify's Twirp method `NotifyService.Auth({authorization}) -> {userID}`, JSON only. Errors are
 * Twirp error JSON (`{"code","msg","meta":{"gregor_code"}}`), not Gregor's, because Notify clients
 * parse them with a Twirp client. The route lives in its own scope so its body parser and error
 * handler do not leak into the rest of the API.
 *
 * @example
 *   registerNotifyRoutes(app, gregord);
 *   // curl -X POST -H 'content-type: application/json' -d '{"authorization":"<jwt>"}' \
 *   //   http://127.0.0.1:7300/twirp/notify.NotifyService/Auth   →  {"userID":"42"}
 */
export function registerNotifyRoutes(app: FastifyInstance, gregord: Gregord): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Every body arrives raw, so a wrong content type gets a Twirp error instead of Fastify's.
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error, _request, reply) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return twirpError(reply, 'malformed', 'the body is too large', 'GREGOR_ERR_TOO_LARGE');
      }
      gregord.log.error({ err: error }, 'notify twirp: unhandled error');
      return twirpError(reply, 'internal', 'the server failed to handle the request; it is logged');
    });
    scope.post(TWIRP_AUTH_PATH, async (request, reply) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        return twirpError(
          reply,
          'malformed',
          'only application/json is supported',
          'GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE',
          415,
        );
      }
      const input = parseJson(request.body);
      if (input === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) {
        return twirpError(reply, 'malformed', 'the body is not a JSON object', 'GREGOR_ERR_BAD_JSON');
      }
      const authorization = (input as { authorization?: unknown }).authorization ?? '';
      if (typeof authorization !== 'string') {
        return twirpError(
          reply,
          'malformed',
          'authorization: expected a string',
          'GREGOR_ERR_INVALID_ARGUMENT',
        );
      }
      if (authorization === '') {
        return twirpError(
          reply,
          'unauthenticated',
          'authorization: send a token',
          'GREGOR_ERR_AUTH_REQUIRED',
        );
      }
      try {
        const principal = await gregord.authenticate(authorization, 'notify', request.headers);
        if (principal.kind !== 'user' || principal.uid === null) {
          throw new GregorError('FORBIDDEN', 'a service token names no user: use a user token');
        }
        return reply.type('application/json').send({ userID: principal.uid });
      } catch (e) {
        if (!isGregorError(e)) throw e;
        return twirpError(reply, 'unauthenticated', e.message, e.code);
      }
    });
  });
}

function parseJson(body: unknown): unknown {
  if (!Buffer.isBuffer(body)) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function twirpError(
  reply: FastifyReply,
  code: TwirpCode,
  msg: string,
  gregorCode?: string,
  status: number = TWIRP[code],
): FastifyReply {
  return reply
    .code(status)
    .type('application/json')
    .send({ code, msg, ...(gregorCode ? { meta: { gregor_code: gregorCode } } : {}) });
}
