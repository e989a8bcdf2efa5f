/** The OpenAPI 3.1 document served at /openapi.json. */
const uid = {
  name: 'uid',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:~-]{1,128}$' },
};
const device = {
  name: 'device',
  in: 'query',
  schema: { type: 'string' },
  description: 'a device ID: the state as that device sees it',
};
const error = {
  description: 'An error with a stable code (docs/protocol.md)',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', example: 'GREGOR_ERR_INVALID_MESSAGE' },
          message: { type: 'string' },
        },
      },
    },
  },
};
const errors = { 400: error, 401: error, 403: error, 409: error, 413: error, 503: error };
const ack = {
  description: 'Stored durably (or a duplicate of a stored message, or relayed out-of-band)',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          msg_id: { type: 'string' },
          seq: { type: ['integer', 'null'] },
          status: { enum: ['stored', 'duplicate', 'relayed'] },
        },
      },
    },
  },
};
const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Gregor',
    version: '0.1.0',
    description:
      "Keeps each user's notification state in sync across their devices. Messages use the wire format of docs/protocol.md; devices connect over WebSocket at /v1/ws.",
  },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  security: [{ bearer: [] }],
  paths: {
    '/v1/users/{uid}/messages': {
      post: {
        summary: 'Inject a message (create / dismiss / flush, or out-of-band) for a user',
        parameters: [uid],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['system', 'body'] } } },
        },
        responses: { 200: ack, ...errors },
      },
      get: {
        summary: 'Messages after a cursor (?after=seq) or since a time (?since=)',
        parameters: [
          uid,
          device,
          { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
          {
            name: 'since',
            in: 'query',
            schema: { type: 'string' },
            description: 'Unix seconds, ISO 8601, or an offset like -1h',
          },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
        ],
        responses: { 200: json('{cursor, truncated, messages}'), ...errors },
      },
    },
    '/v1/users/{uid}/flush': {
      post: {
        summary: 'Tell every device of the user to refetch its state',
        parameters: [uid],
        responses: { 200: ack, ...errors },
      },
    },
    '/v1/users/{uid}/state': {
      get: {
        summary: "The user's state (seed 002's JSON blob), optionally for one device and at a past time",
        parameters: [
          uid,
          device,
          {
            name: 'at',
            in: 'query',
            schema: { type: 'string' },
            description: 'Unix seconds, ISO 8601, or an offset like -1h',
          },
        ],
        responses: { 200: json('{uid, device, at, cursor, hash, items}'), ...errors },
      },
    },
    '/v1/users/{uid}/devices': {
      get: {
        summary: "The user's devices connected to this node",
        parameters: [uid],
        responses: { 200: json('{devices}'), ...errors },
      },
    },
    '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: json('{status}') } } },
    '/readyz': {
      get: {
        summary: 'Readiness: storage reachable, pipeline alive, fan-out healthy',
        security: [],
        responses: { 200: json('ready'), 503: json('not ready') },
      },
    },
    '/metrics': {
      get: { summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'text/plain' } } },
    },
  },
} as const;
