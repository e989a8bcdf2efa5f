import type { FastifyInstance } from 'fastify';
import type { Gregord } from '../../gregord.js';
import type { AuthConfig } from '../authenticate.js';
import { errorResponses } from '../schemas.js';

const open = { auth: 'public' } satisfies AuthConfig;
const tags = ['operations'];

const readinessSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    checks: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: '"ok", or what fails: accepting, storage, pipeline, pubsub',
    },
  },
} as const;

/**
 * Health, readiness, metrics and the OpenAPI document: public, for load balancers, Prometheus and
 * API clients. `openapi` is the document of the scope these routes are registered in.
 */
export async function operationRoutes(
  app: FastifyInstance,
  { gregord, openapi }: { gregord: Gregord; openapi: () => unknown },
): Promise<void> {
  app.get(
    '/healthz',
    {
      config: open,
      schema: {
        operationId: 'health',
        summary: 'Liveness: the process answers',
        tags,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['status'],
            properties: { status: { type: 'string', enum: ['ok'] } },
            description: 'Alive',
          },
          ...errorResponses(['INTERNAL']),
        },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: open,
      schema: {
        operationId: 'readiness',
        summary: 'Readiness: storage answers, no message is stuck in the pipeline, fan-out is healthy',
        tags,
        response: {
          200: { ...readinessSchema, description: 'Ready' },
          503: { ...readinessSchema, description: 'Not ready: `checks` names what fails' },
          ...errorResponses(['INTERNAL']),
        },
      },
    },
    async (_request, reply) => {
      const r = await gregord.readiness();
      return reply
        .code(r.ready ? 200 : 503)
        .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
    },
  );

  app.get(
    '/metrics',
    {
      config: open,
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags,
        response: {
          200: {
            description: 'The Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses(['INTERNAL']),
        },
      },
    },
    async (_request, reply) =>
      reply.type(gregord.metrics.registry.contentType).send(await gregord.metrics.registry.metrics()),
  );

  app.get(
    '/openapi.json',
    {
      config: open,
      schema: {
        operationId: 'openapi',
        summary: 'This document: OpenAPI 3.1, generated from the route schemas',
        tags,
        response: {
          200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' },
          ...errorResponses(['INTERNAL']),
        },
      },
    },
    async () => openapi(),
  );
}
