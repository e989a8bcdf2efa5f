import type { FastifyInstance, FastifyReply } from 'fastify';
import { ERROR_CODES, GregorError, isGregorError } from '../../protocol/errors.js';
import { readCookie } from '../cookie.js';
import type { Gregord } from '../gregord.js';
import type { AuthConfig } from '../http/authenticate.js';
import { notifyIdOf } from './identity.js';
import { readStringField1, writeStringField1 } from './protobuf.js';

export const TWIRP_AUTH_PATH = '/twirp/notify.NotifyService/Auth';

/** Twirp's error codes used here, with the HTTP status Twirp gives each. */
const TWIRP = {
  malformed: 400,
  bad_route: 404,
  unauthenticated: 401,
  internal: 500,
} as const;

/** The two encodings Twirp serves, by Content-Type. */
const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/protobuf';
type TwirpCode = keyof typeof TWIRP;

/** Twirp's error JSON, with the Gregor code in `meta`. */
const twirpError = (description: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['code', 'msg'],
    properties: {
      code: { type: 'string', enum: Object.keys(TWIRP) },
      msg: { type: 'string' },
      meta: {
        type: 'object',
        additionalProperties: false,
        properties: { gregor_code: { type: 'string', enum: Object.values(ERROR_CODES).map((e) => e.code) } },
      },
    },
    description,
  }) as const;

const authSchema = {
  operationId: 'notifyAuth',
  summary: "Notify's Twirp method NotifyService.Auth: the user a token names",
  description:
    "For Notify clients (docs/notify.md), in JSON or protobuf (`application/protobuf`: AuthRequest{string authorization = 1} -> AuthResponse{string userID = 1}; the schemas below describe the JSON form). With `auth-cookie` set, the session cookie wins over the body's token, as in Notify. Errors are Twirp error JSON, not Gregor's, with the Gregor code in `meta.gregor_code`. Service tokens are refused: they name no user.",
  tags: ['notify'],
  consumes: [JSON_TYPE, PROTOBUF_TYPE],
  produces: [JSON_TYPE, PROTOBUF_TYPE],
  body: {
    type: 'object',
    required: ['authorization'],
    properties: {
      authorization: {
        type: 'string',
        minLength: 1,
        description: 'a user token; a leading "Bearer " is stripped',
      },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['userID'],
      properties: { userID: { type: 'string' } },
      description: 'The user the token names',
    },
    400: twirpError(
      'malformed: the body is not a JSON object, `authorization` is not a string, or the body is too large',
    ),
    401: twirpError('unauthenticated: no token, or a token that is invalid, expired, or a service token'),
    404: twirpError('bad_route: the Content-Type is neither application/json nor application/protobuf'),
    500: twirpError('internal: an unexpected server error; it is logged'),
  },
} as const;

/**
 * Notify's Twirp method `NotifyService.Auth({authorization}) -> {userID}`, in JSON and protobuf as
 * Twirp serves it (the answer in the request's encoding), as a Fastify plugin. With `auth-cookie`
 * set, the session cookie wins over the body's token, as in Notify. Errors are Twirp error JSON (`{"code","msg","meta":{"gregor_code"}}`), not Gregor's,
 * because Notify clients parse them with a Twirp client. The route lives in its own scope so its
 * body parser and error handler do not leak into the rest of the API. It is public: the token
 * is in the body.
 *
 * @example
 *   await app.register(notifyTwirp, { gregord });
 *   // curl -X POST -H 'content-type: application/json' -d '{"authorization":"<jwt>"}' \
 *   //   http://127.0.0.1:7300/twirp/notify.NotifyService/Auth   →  {"userID":"42"}
 */
export async function notifyTwirp(scope: FastifyInstance, { gregord }: { gregord: Gregord }): Promise<void> {
  scope.removeAllContentTypeParsers();
  // Every body arrives raw, so a wrong content type gets a Twirp error instead of Fastify's.
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  scope.setErrorHandler((error, _request, reply) => {
    if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendTwirpError(reply, 'malformed', 'the body is too large', 'GREGOR_ERR_TOO_LARGE');
    }
    gregord.log.error({ err: error }, 'notify twirp: unhandled error');
    return sendTwirpError(reply, 'internal', 'the server failed to handle the request; it is logged');
  });
  scope.post(
    TWIRP_AUTH_PATH,
    { config: { auth: 'public' } satisfies AuthConfig, schema: authSchema },
    async (request, reply) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== JSON_TYPE && type !== PROTOBUF_TYPE) {
        // Twirp's own answer: a Content-Type it does not serve is a route that does not exist.
        return sendTwirpError(
          reply,
          'bad_route',
          `unexpected Content-Type: ${JSON.stringify(type)}`,
          'GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE',
        );
      }
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const read = type === JSON_TYPE ? readJson(body) : readProtobuf(body);
      if (typeof read !== 'string') return sendTwirpError(reply, 'malformed', read.error, read.code);
      const cookie = gregord.config.authCookie
        ? readCookie(request.headers.cookie, gregord.config.authCookie)
        : null;
      const authorization = cookie ?? read;
      if (authorization === '') {
        return sendTwirpError(
          reply,
          'unauthenticated',
          'authorization: send a token',
          'GREGOR_ERR_AUTH_REQUIRED',
        );
      }
      let userID: string;
      try {
        const principal = await gregord.authenticate(authorization, 'notify', request.headers);
        // Notify's own ID, verbatim (an e-mail address, digits past 2^53), not Gregor's encoding.
        const id = notifyIdOf(principal);
        if (id === null)
          throw new GregorError('FORBIDDEN', 'a service token names no user: use a user token');
        userID = id;
      } catch (e) {
        if (!isGregorError(e)) throw e;
        return sendTwirpError(reply, 'unauthenticated', e.message, e.code);
      }
      return type === JSON_TYPE
        ? reply.type(JSON_TYPE).send({ userID })
        : reply.type(PROTOBUF_TYPE).send(Buffer.from(writeStringField1(userID)));
    },
  );
}

type Refusal = { error: string; code: string };

/** `{"authorization": "…"}`, as Twirp's JSON decoder reads it: a missing field is empty. */
function readJson(body: Buffer): string | Refusal {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'the body is not a JSON object', code: 'GREGOR_ERR_BAD_JSON' };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { error: 'the body is not a JSON object', code: 'GREGOR_ERR_BAD_JSON' };
  }
  const authorization = (input as { authorization?: unknown }).authorization ?? '';
  if (typeof authorization !== 'string') {
    return { error: 'authorization: expected a string', code: 'GREGOR_ERR_INVALID_ARGUMENT' };
  }
  return authorization;
}

function readProtobuf(body: Buffer): string | Refusal {
  try {
    return readStringField1(body);
  } catch (e) {
    if (!isGregorError(e)) throw e;
    return { error: e.message, code: e.code };
  }
}

function sendTwirpError(
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
