import type { FastifyInstance } from 'fastify';
import type { ErrorKind } from '../../../protocol/errors.js';
import { messageToWire, stateBlob } from '../../../protocol/message.js';
import { parseTimeOrOffset, toWireTime } from '../../../protocol/time.js';
import { parseMessage } from '../../../protocol/validate.js';
import type { Gregord } from '../../gregord.js';
import { optionalId, whole } from '../arguments.js';
import { type AuthConfig, principalOf } from '../authenticate.js';
import {
  AUTH_ERRORS,
  ackSchema,
  BODY_ERRORS,
  deviceQuery,
  errorResponses,
  READ_ERRORS,
  timeQuery,
  uidParams,
  WRITE_ERRORS,
  wholeQuery,
} from '../schemas.js';

type UidParams = { Params: { uid: string } };

const user = { auth: 'user-or-service' } satisfies AuthConfig;
const tags = ['users'];
/** Every user route checks the path's user ID and the token before anything else. */
const ADMISSION: readonly ErrorKind[] = ['INVALID_ARGUMENT', ...AUTH_ERRORS];

/**
 * The routes on one user's state and history: a service token acts for any user, a user token
 * only for its own. Path and query arguments are checked by Gregor's validators (coded errors
 * naming the argument); the schemas document them.
 */
export async function userRoutes(app: FastifyInstance, { gregord }: { gregord: Gregord }): Promise<void> {
  injectRoute(app, gregord);
  flushRoute(app, gregord);
  stateRoute(app, gregord);
  messagesRoute(app, gregord);
  devicesRoute(app, gregord);
}

function injectRoute(app: FastifyInstance, gregord: Gregord): void {
  app.post<UidParams>(
    '/v1/users/:uid/messages',
    {
      bodyLimit: gregord.config.maxMessageBytes,
      config: user,
      schema: {
        operationId: 'injectMessage',
        summary: 'Inject a message (create, dismiss, flush, or out-of-band) for a user',
        description:
          "Answers once the message is durable (stored on its user's lane, then broadcast to the user's devices). The body is validated as over WebSocket: a refusal names the offending field.",
        tags,
        params: uidParams,
        body: { $ref: 'NewMessage#' },
        response: {
          200: ackSchema,
          ...errorResponses([
            ...ADMISSION,
            ...BODY_ERRORS,
            'INVALID_TIME',
            'MESSAGE_TOO_OLD',
            'TOO_MANY_TOMBSTONES',
            ...WRITE_ERRORS,
          ]),
        },
      },
    },
    async (request) => {
      const message = parseMessage(request.body, { uid: request.params.uid, now: Date.now() });
      const { msgId, result } = await gregord.consume(message, 'http', principalOf(request));
      return { msg_id: msgId, seq: result.seq, status: result.status };
    },
  );
}

function flushRoute(app: FastifyInstance, gregord: Gregord): void {
  app.post<UidParams>(
    '/v1/users/:uid/flush',
    {
      bodyLimit: gregord.config.maxMessageBytes,
      config: user,
      schema: {
        operationId: 'flush',
        summary: 'Tell every device of the user to refetch its state',
        description:
          'Stores `{"system":"gregor","body":{"flush":true}}`. A body, if sent, must be JSON and is ignored.',
        tags,
        params: uidParams,
        response: { 200: ackSchema, ...errorResponses([...ADMISSION, ...BODY_ERRORS, ...WRITE_ERRORS]) },
      },
    },
    async (request) => {
      const flush = { system: 'gregor', body: { flush: true } };
      const message = parseMessage(flush, { uid: request.params.uid, now: Date.now() });
      const { msgId, result } = await gregord.consume(message, 'http', principalOf(request));
      return { msg_id: msgId, seq: result.seq, status: result.status };
    },
  );
}

const devicesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['devices'],
  description: "The user's devices on this node",
  properties: {
    devices: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['device', 'connected_at'],
        properties: {
          device: { type: 'string' },
          connected_at: { type: 'number', description: 'when it authenticated (Unix seconds)' },
        },
      },
    },
  },
} as const;

function devicesRoute(app: FastifyInstance, gregord: Gregord): void {
  app.get<UidParams>(
    '/v1/users/:uid/devices',
    {
      config: user,
      schema: {
        operationId: 'devices',
        summary: "The user's devices connected to this node",
        tags,
        params: uidParams,
        response: { 200: devicesSchema, ...errorResponses([...ADMISSION, 'INTERNAL']) },
      },
    },
    async (request) => ({
      devices: gregord
        .devices(request.params.uid)
        .map((d) => ({ device: d.device, connected_at: toWireTime(d.connectedAt) })),
    }),
  );
}

type StateRequest = UidParams & { Querystring: { device?: string; at?: string } };

function stateRoute(app: FastifyInstance, gregord: Gregord): void {
  app.get<StateRequest>(
    '/v1/users/:uid/state',
    {
      config: user,
      schema: {
        operationId: 'state',
        summary: "The user's state as seed 002's JSON blob, for a device and at a past time",
        tags,
        params: uidParams,
        querystring: {
          type: 'object',
          properties: {
            device: deviceQuery,
            at: {
              ...timeQuery,
              description: `the state at this time (${timeQuery.description}); default: now`,
            },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['uid', 'device', 'at', 'cursor', 'hash', 'items'],
            description: "The user's state",
            properties: {
              uid: { type: 'string' },
              device: { type: ['string', 'null'] },
              at: {
                type: ['number', 'null'],
                description: 'the time asked for (Unix seconds), or null for now',
              },
              cursor: {
                type: 'integer',
                description: 'the sequence number this state reflects: read on after it',
              },
              hash: { type: 'string', description: 'the state hash, equal on every device that agrees' },
              items: {
                type: 'object',
                additionalProperties: { $ref: 'Item#' },
                description: 'items by item ID',
              },
            },
          },
          ...errorResponses([...ADMISSION, 'INVALID_TIME', 'HISTORY_COMPACTED', ...READ_ERRORS]),
        },
      },
    },
    async (request) => {
      const { uid } = request.params;
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
}

type MessagesRequest = UidParams & {
  Querystring: { device?: string; after?: string; since?: string; limit?: string };
};

function messagesRoute(app: FastifyInstance, gregord: Gregord): void {
  app.get<MessagesRequest>(
    '/v1/users/:uid/messages',
    {
      config: user,
      schema: {
        operationId: 'messages',
        summary: 'Messages after a cursor (`after`), or the in-band messages since a time (`since`)',
        tags,
        params: uidParams,
        querystring: {
          type: 'object',
          properties: {
            device: deviceQuery,
            after: { ...wholeQuery, description: 'a cursor: messages with a greater seq (default 0)' },
            since: {
              ...timeQuery,
              description: `instead of a cursor: in-band messages since this time (${timeQuery.description})`,
            },
            limit: {
              ...wholeQuery,
              description: 'at most this many after the cursor (default 1000; over 10,000 counts as 10,000)',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['messages'],
            description: 'The messages, in commit order',
            properties: {
              cursor: { type: 'integer', description: 'with `after`: the seq to read on from' },
              truncated: { type: 'boolean', description: 'with `after`: more messages follow' },
              messages: { type: 'array', items: { $ref: 'Message#' } },
            },
          },
          ...errorResponses([...ADMISSION, 'INVALID_TIME', 'HISTORY_COMPACTED', ...READ_ERRORS]),
        },
      },
    },
    async (request) => {
      const { uid } = request.params;
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
}
