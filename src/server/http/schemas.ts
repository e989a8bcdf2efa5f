import { ERROR_CODES, type ErrorKind } from '../../protocol/errors.js';
import { LIMITS } from '../../protocol/limits.js';
import { ID_PATTERN, idSchema, newMessageSchema } from './message-schema.js';

/**
 * The JSON Schemas of the HTTP API. Request schemas (params, querystring, body) describe what
 * Gregor's own validators accept, for the OpenAPI document; response schemas are also what
 * Fastify serializes with, so objects that carry a user's data keep every field
 * (`additionalProperties: true`, free-form bodies).
 */

/** The error body of every refusal: a code of the registry (src/protocol/errors.ts) and a message. */
export const errorSchema = {
  $id: 'GregorError',
  type: 'object',
  additionalProperties: false,
  required: ['code', 'message'],
  properties: {
    code: {
      type: 'string',
      enum: Object.values(ERROR_CODES).map((e) => e.code),
      description: 'a stable code: docs/protocol.md, "Error codes"',
    },
    message: { type: 'string', description: 'what went wrong, naming the offending field' },
  },
} as const;

/** An item of a user's state, in seed 002's format: times absolute, in Unix seconds. */
export const itemSchema = {
  $id: 'Item',
  type: 'object',
  additionalProperties: true,
  required: ['times', 'for_device', 'category', 'body'],
  properties: {
    times: {
      type: 'object',
      additionalProperties: true,
      required: ['created', 'expires', 'remind_at'],
      properties: {
        created: { type: 'number' },
        expires: { type: ['number', 'null'] },
        remind_at: { type: 'array', items: { type: 'number' } },
      },
    },
    for_device: { type: ['string', 'null'], description: 'null: every device' },
    category: { type: 'string' },
    body: { description: 'any JSON, as sent' },
  },
} as const;

/** A message as the server stores and sends it: seed 002's JSON plus `id` and `ctime`. */
export const messageSchema = {
  $id: 'Message',
  type: 'object',
  additionalProperties: true,
  required: ['id', 'ctime', 'system', 'body'],
  properties: {
    id: { type: 'string' },
    ctime: { type: 'number', description: 'when the server accepted it (Unix seconds)' },
    system: { type: 'string' },
    seq: { type: 'integer', description: "its place in the user's log (pages after a cursor)" },
    body: { description: 'for "gregor": create, dismiss (times absolute) or flush; otherwise as sent' },
  },
} as const;

/** Schemas the routes refer to by `$id` (`{ $ref: 'Item#' }`); the OpenAPI document's components. */
export const SHARED_SCHEMAS = [errorSchema, itemSchema, messageSchema, newMessageSchema] as const;

export const uidParams = {
  type: 'object',
  required: ['uid'],
  additionalProperties: false,
  properties: { uid: { ...idSchema, description: 'the user' } },
} as const;

/** A device ID in a query; empty is the same as absent. */
export const deviceQuery = {
  type: 'string',
  maxLength: LIMITS.maxIdLength,
  pattern: ID_PATTERN.replace('+$', '*$'),
  description: 'a device ID: what that device sees (its own items and the ones for every device)',
} as const;

/** A time in a query: relative to the moment the query runs. */
export const timeQuery = {
  type: 'string',
  pattern: String.raw`^(?:[+-]\d{1,12}(?:\.\d{1,3})?(?:ms|s|m|h|d|w)|\d+(?:\.\d+)?|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))$`,
  description: 'Unix seconds, an ISO 8601 time with a zone, or an offset from now such as "-1h"',
  examples: ['-1h'],
} as const;

/** A whole number in a query (at most 15 digits). */
export const wholeQuery = { type: 'integer', minimum: 0, maximum: 999_999_999_999_999 } as const;

/** The answer to a message accepted over HTTP. */
export const ackSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['msg_id', 'seq', 'status'],
  properties: {
    msg_id: { type: 'string', description: 'the ID it was stored under' },
    seq: { type: ['integer', 'null'], description: "its place in the user's log; null when relayed" },
    status: {
      type: 'string',
      enum: ['stored', 'duplicate', 'relayed'],
      description: 'stored durably; a duplicate of a stored message (nothing changed); relayed out-of-band',
    },
  },
  description: 'Durable (or a duplicate of a stored message, or relayed out-of-band)',
} as const;

export const AUTH_ERRORS: readonly ErrorKind[] = [
  'AUTH_REQUIRED',
  'AUTH_INVALID',
  'AUTH_EXPIRED',
  'FORBIDDEN',
];
export const READ_ERRORS: readonly ErrorKind[] = [
  'STORAGE_UNAVAILABLE',
  'STORAGE_FAILED',
  'CLOSED',
  'INTERNAL',
];
export const WRITE_ERRORS: readonly ErrorKind[] = [...READ_ERRORS, 'STORAGE_FULL', 'STORAGE_CONSTRAINT'];
/** What any JSON body can earn before the route reads it. */
export const BODY_ERRORS: readonly ErrorKind[] = [
  'BAD_JSON',
  'INVALID_MESSAGE',
  'TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

type ErrorResponse = { readonly $ref: 'GregorError#'; readonly description: string };

/**
 * The error responses of a route from the codes it refuses with, each under its status from the
 * registry, plus `default` for any other coded refusal (an extension's hook may refuse with any).
 *
 * @example
 *   response: { 200: ackSchema, ...errorResponses(['INVALID_ARGUMENT', ...AUTH_ERRORS]) }
 */
export function errorResponses(kinds: readonly ErrorKind[]): Record<string, ErrorResponse> {
  const byStatus = new Map<number, ErrorKind[]>();
  for (const kind of new Set(kinds)) {
    const status = ERROR_CODES[kind].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), kind]);
  }
  const responses: Record<string, ErrorResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = list.map((k) => `${ERROR_CODES[k].code}: ${ERROR_CODES[k].summary}`).join('\n\n');
    responses[status] = { $ref: 'GregorError#', description };
  }
  responses.default = {
    $ref: 'GregorError#',
    description: "Any other coded refusal (an extension's hook may refuse with any code of the registry).",
  };
  return responses;
}
