/**
 * The one registry of error codes. Codes are stable: never renamed, never reused.
 * `docs/protocol.md` documents each one (a test checks that).
 *
 * @example
 *   throw new GregorError('INVALID_MESSAGE', 'body.create.a1.category: expected a non-empty string');
 */
export const ERROR_CODES = {
  BAD_JSON: { code: 'GREGOR_ERR_BAD_JSON', status: 400, summary: 'The input is not valid JSON.' },
  INVALID_MESSAGE: {
    code: 'GREGOR_ERR_INVALID_MESSAGE',
    status: 400,
    summary: 'A message does not follow the wire format; the text names the offending field.',
  },
  INVALID_TIME: {
    code: 'GREGOR_ERR_INVALID_TIME',
    status: 400,
    summary: 'A time is neither Unix seconds, an ISO 8601 string with a zone, nor an offset like "+1h".',
  },
  BAD_REQUEST: {
    code: 'GREGOR_ERR_BAD_REQUEST',
    status: 400,
    summary:
      'The HTTP request itself is malformed (its framing, Content-Length, headers or target); nothing was read.',
  },
  REQUEST_TIMEOUT: {
    code: 'GREGOR_ERR_REQUEST_TIMEOUT',
    status: 408,
    summary: "The request did not arrive whole within the server's request timeout; send it again, faster.",
  },
  INVALID_ARGUMENT: {
    code: 'GREGOR_ERR_INVALID_ARGUMENT',
    status: 400,
    summary: 'A query argument (user ID, device ID, time, cursor) is malformed.',
  },
  TOO_LARGE: {
    code: 'GREGOR_ERR_TOO_LARGE',
    status: 413,
    summary: 'A message, item body or list is larger than the configured limit.',
  },
  MESSAGE_TOO_OLD: {
    code: 'GREGOR_ERR_MESSAGE_TOO_OLD',
    status: 409,
    summary:
      'The message is older than the compaction horizon; accepting it could resurrect compacted state.',
  },
  TOO_MANY_TOMBSTONES: {
    code: 'GREGOR_ERR_TOO_MANY_TOMBSTONES',
    status: 409,
    summary:
      'The user keeps as many interval dismissals as the limit allows; nothing was stored. Dismiss items by ID, or wait until compaction removes intervals that ended long ago.',
  },
  HISTORY_COMPACTED: {
    code: 'GREGOR_ERR_HISTORY_COMPACTED',
    status: 410,
    summary: 'The time asked for lies before the compaction horizon; that history is gone.',
  },
  STORAGE_UNAVAILABLE: {
    code: 'GREGOR_ERR_STORAGE_UNAVAILABLE',
    status: 503,
    summary: 'The database cannot be reached; nothing was written.',
  },
  STORAGE_FULL: {
    code: 'GREGOR_ERR_STORAGE_FULL',
    status: 507,
    summary: 'The database is out of space; nothing was written.',
  },
  STORAGE_CONSTRAINT: {
    code: 'GREGOR_ERR_STORAGE_CONSTRAINT',
    status: 500,
    summary: 'The database refused a write for a constraint; nothing was written.',
  },
  STORAGE_FAILED: {
    code: 'GREGOR_ERR_STORAGE_FAILED',
    status: 500,
    summary: 'The database failed for another reason; nothing was written.',
  },
  SCHEMA_TOO_NEW: {
    code: 'GREGOR_ERR_SCHEMA_TOO_NEW',
    status: 500,
    summary: 'The database was migrated by a newer Gregor than this one; upgrade before starting.',
  },
  AUTH_REQUIRED: {
    code: 'GREGOR_ERR_AUTH_REQUIRED',
    status: 401,
    summary: 'No token was presented, or authentication did not complete in time.',
  },
  AUTH_INVALID: {
    code: 'GREGOR_ERR_AUTH_INVALID',
    status: 401,
    summary:
      'The token is malformed, unsigned (alg "none"), signed with a key or algorithm not accepted, or lacks a user ID.',
  },
  AUTH_EXPIRED: {
    code: 'GREGOR_ERR_AUTH_EXPIRED',
    status: 401,
    summary: 'The token has expired or is not valid yet (exp/nbf); get a new one.',
  },
  FORBIDDEN: {
    code: 'GREGOR_ERR_FORBIDDEN',
    status: 403,
    summary: 'The token is valid but may not do this: a user token acts only for its own user.',
  },
  ORIGIN_FORBIDDEN: {
    code: 'GREGOR_ERR_ORIGIN_FORBIDDEN',
    status: 403,
    summary: 'The WebSocket Origin is not in the allowed list (checked where cookies authenticate).',
  },
  NOT_FOUND: { code: 'GREGOR_ERR_NOT_FOUND', status: 404, summary: 'No such route.' },
  RATE_LIMITED: {
    code: 'GREGOR_ERR_RATE_LIMITED',
    status: 429,
    summary: 'Too many frames or requests in a short time; slow down.',
  },
  TOO_MANY_CONNECTIONS: {
    code: 'GREGOR_ERR_TOO_MANY_CONNECTIONS',
    status: 429,
    summary: 'The user (or the server) has as many connections as the limit allows.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    summary: 'The request body must be application/json.',
  },
  INVALID_FRAME: {
    code: 'GREGOR_ERR_INVALID_FRAME',
    status: 400,
    summary: 'A WebSocket frame is not a known frame type or misses a field; the message names it.',
  },
  INVALID_CONFIG: {
    code: 'GREGOR_ERR_INVALID_CONFIG',
    status: 500,
    summary: 'A setting (flag or environment variable) is invalid; the message names the setting.',
  },
  NOT_READY: {
    code: 'GREGOR_ERR_NOT_READY',
    status: 503,
    summary: 'The server is starting or shutting down; retry shortly.',
  },
  INTERNAL: {
    code: 'GREGOR_ERR_INTERNAL',
    status: 500,
    summary: 'An unexpected server error; it is logged with details, and nothing half-done is stored.',
  },
  CLOSED: {
    code: 'GREGOR_ERR_CLOSED',
    status: 503,
    summary: 'The engine or connection was closed; the call was not carried out.',
  },
} as const;

export type ErrorKind = keyof typeof ERROR_CODES;
export type ErrorCode = (typeof ERROR_CODES)[ErrorKind]['code'];

/** An error with a stable code, an HTTP status, and a message a person understands. */
export class GregorError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly status: number;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GregorError';
    this.kind = kind;
    this.code = ERROR_CODES[kind].code;
    this.status = ERROR_CODES[kind].status;
  }

  /** The JSON shape sent to clients: never a stack trace. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isGregorError(e: unknown, kind?: ErrorKind): e is GregorError {
  return e instanceof GregorError && (kind === undefined || e.kind === kind);
}
