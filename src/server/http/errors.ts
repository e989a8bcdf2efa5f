import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, GregorError, isGregorError } from '../../protocol/errors.js';
import type { Gregord } from '../gregord.js';
import { writeRefusal } from '../raw-refusal.js';

/** Answers with a coded error body `{code, message}` and counts it. */
export function sendError(gregord: Gregord, reply: FastifyReply, error: GregorError): FastifyReply {
  gregord.metrics.errors.inc({ code: error.code });
  return reply.code(error.status).send(error.toJSON());
}

/** What a route or Fastify threw, as the coded error the client gets; anything unexpected is logged. */
export function toGregorError(error: unknown, request: FastifyRequest, gregord: Gregord): GregorError {
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
export function refuseMalformed(gregord: Gregord, error: Error & { code?: string }, socket: Socket): void {
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
