import fastifySwagger from '@fastify/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeToken } from '../../src/cli/tokens.js';
import { GregorError } from '../../src/protocol/errors.js';
import { parseTimeOrOffset } from '../../src/protocol/time.js';
import { parseMessage } from '../../src/protocol/validate.js';
import type { Principal } from '../../src/server/auth.js';
import type { Extension } from '../../src/server/extensions/types.js';
import { optionalId, whole } from '../../src/server/http/arguments.js';
import { checkRole, enforceRoles, ROLES, roleOf } from '../../src/server/http/authenticate.js';
import { buildHttp } from '../../src/server/http/index.js';
import { createGregor, type Gregor, type Settings } from '../../src/server/library.js';
import { message as fuzzedMessage, nasty } from '../fuzz/inputs.js';
import { REDIS_URL, requireRedis } from '../support/redis.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';

/**
 * The OpenAPI document is generated from the route schemas (@fastify/swagger): these tests check
 * that it is valid OpenAPI 3.1, that it lists exactly the routes the server serves with their
 * roles and responses, that what the server answers matches what it documents, and that the
 * request schemas describe what Gregor's own validators accept.
 */

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
  info: { description: string };
};
type Operation = {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
};

const keys = { jwtSecret: USER_SECRET, serviceSecret: SERVICE_SECRET };
const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 600 });
const userToken = (uid: string) => makeToken({ secret: USER_SECRET, uid, ttlSeconds: 600 });

/** Refuses two magic tokens as an extension may: a bug (500) and a coded refusal of its own (429). */
const refuser: Extension = {
  name: 'refuser',
  priority: 1000,
  onAuthenticate({ token }) {
    if (token.endsWith('boom')) throw new Error('an extension with a bug');
    if (token.endsWith('slow-down')) throw new GregorError('RATE_LIMITED', 'this extension says: slow down');
  },
};

const gregorWith = (settings: Settings = {}) =>
  createGregor({
    settings: { storage: 'memory', logLevel: 'silent', ...keys, ...settings },
    extensions: [refuser],
  });

/** Checks bodies against the document's schemas, with its components by name. */
function schemaChecker(doc: Doc): (schema: object) => ValidateFunction {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const byName = (s: object) =>
    JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', '"')) as object;
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(byName(schema), name);
  return (schema) => ajv.compile(byName(schema));
}

/** The document's path for a route's URL: `/v1/users/:uid/state` → `/v1/users/{uid}/state`. */
const docPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

interface Served {
  readonly method: string;
  readonly url: string;
  readonly config: unknown;
}

/** Gregor's own server with a hook that records every route it serves. */
async function serve(gregor: Gregor): Promise<{ app: FastifyInstance; routes: Served[]; doc: Doc }> {
  const app = buildHttp(gregor.core);
  const routes: Served[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: r.url, config: r.config });
    }
  });
  await app.ready();
  const doc = (await app.inject('/openapi.json')).json() as Doc;
  return { app, routes, doc };
}

/** Asks the server and checks the answer against the status and schema the document gives it. */
async function probe(
  app: FastifyInstance,
  doc: Doc,
  check: (schema: object) => ValidateFunction,
  route: { method: string; url: string },
  request: InjectOptions & { url: string },
  expected: { status: number; code?: string },
): Promise<LightMyRequestResponse> {
  const response = await app.inject({ method: route.method as 'GET', ...request });
  const what = `${route.method} ${request.url} → ${response.statusCode} ${response.body.slice(0, 200)}`;
  expect(response.statusCode, what).toBe(expected.status);
  const responses = doc.paths[docPath(route.url)]![route.method.toLowerCase()]!.responses;
  const documented = responses[String(expected.status)] ?? responses.default;
  expect(documented, `${what}: status not documented`).toBeDefined();
  const type = String(response.headers['content-type']).split(';')[0]!;
  const schema = documented!.content?.[type]?.schema;
  expect(schema, `${what}: no schema for ${type}`).toBeDefined();
  const body = type === 'application/json' ? response.json() : response.body;
  const validate = check(schema!);
  expect(validate(body), `${what}: ${JSON.stringify(validate.errors)}`).toBe(true);
  if (expected.code) expect((body as { code: string }).code, what).toBe(expected.code);
  return response;
}

describe('the OpenAPI document, generated from the route schemas', () => {
  let gregor: Gregor;
  let app: FastifyInstance;
  let routes: Served[];
  let doc: Doc;
  let check: (schema: object) => ValidateFunction;

  beforeAll(async () => {
    gregor = await gregorWith({ maxMessageBytes: 4096 });
    ({ app, routes, doc } = await serve(gregor));
    check = schemaChecker(doc);
  });
  afterAll(async () => {
    await app.close();
    await gregor.close();
  });

  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc).toMatchObject({ openapi: '3.1.0', info: { title: 'Gregor' } });
    expect(doc.info.description).toContain('/v1/ws');
  });

  it('lists exactly the routes the server serves, each with its method', () => {
    expect(routes.length).toBeGreaterThanOrEqual(8);
    const served = routes.map((r) => `${r.method} ${docPath(r.url)}`).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('every route declares who may call it, and its security says the same', () => {
    for (const r of routes) {
      const role = roleOf(r);
      expect(ROLES, `${r.method} ${r.url}`).toContain(role);
      const op = doc.paths[docPath(r.url)]![r.method.toLowerCase()]!;
      expect(op.security, `${r.method} ${r.url}`).toEqual(role === 'public' ? [] : [{ bearer: [] }]);
    }
    const publicRoutes = routes.filter((r) => roleOf(r) === 'public').map((r) => r.url);
    expect(publicRoutes.sort()).toEqual(['/healthz', '/metrics', '/openapi.json', '/readyz']);
  });

  it('every route has its request schemas, a success response, error responses and a default', () => {
    for (const r of routes) {
      const what = `${r.method} ${r.url}`;
      const op = doc.paths[docPath(r.url)]![r.method.toLowerCase()]!;
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => s.startsWith('2')),
        what,
      ).toBe(true);
      expect(statuses, what).toContain('500');
      expect(statuses, what).toContain('default');
      for (const [status, response] of Object.entries(op.responses)) {
        expect(Object.values(response.content ?? {})[0]?.schema, `${what} ${status}`).toBeDefined();
      }
      if (r.url.includes(':uid')) {
        expect(op.parameters?.find((p) => p.name === 'uid')?.in, what).toBe('path');
        expect(statuses, what).toEqual(expect.arrayContaining(['400', '401', '403']));
      }
    }
    const inject = doc.paths['/v1/users/{uid}/messages']!.post!;
    expect(inject.requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/NewMessage',
    });
    expect(Object.keys(inject.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '409', '413', '415', '500', '503', '507']),
    );
    const state = doc.paths['/v1/users/{uid}/state']!.get!;
    expect(state.parameters?.map((p) => `${p.in} ${p.name}`).sort()).toEqual([
      'path uid',
      'query at',
      'query device',
    ]);
  });

  it('what the server answers has the status and the body the document gives', async () => {
    const svc = { authorization: `Bearer ${await serviceToken()}` };
    const alice = { authorization: `Bearer ${await userToken('alice')}` };
    const json = { ...svc, 'content-type': 'application/json' };
    const inject = { method: 'POST', url: '/v1/users/:uid/messages' };
    // `__proto__` is a legal body key: it must come back as an own key, not be dropped.
    const create = '{"system":"gregor","body":{"create":{"a":{"category":"c","body":{"__proto__":1}}}}}';
    const p = (route: typeof inject, request: object, expected: { status: number; code?: string }) =>
      probe(app, doc, check, route, request as { url: string }, expected);

    await p(inject, { url: '/v1/users/alice/messages', headers: json, payload: create }, { status: 200 });
    await p(
      inject,
      {
        url: '/v1/users/alice/messages',
        headers: { ...alice, 'content-type': 'application/json' },
        payload: { system: 'kbfs', body: 1 },
      },
      { status: 200 },
    );
    const invalid = await p(
      inject,
      {
        url: '/v1/users/alice/messages',
        headers: json,
        payload: { system: 'gregor', body: { create: { a: {} } } },
      },
      { status: 400, code: 'GREGOR_ERR_INVALID_MESSAGE' },
    );
    expect(invalid.json().message).toBe('body.create.a.category: expected a non-empty string, got undefined');
    await p(
      inject,
      { url: '/v1/users/alice/messages', headers: json, payload: '{"system":' },
      { status: 400, code: 'GREGOR_ERR_BAD_JSON' },
    );
    await p(
      inject,
      { url: '/v1/users/a%20b/messages', headers: json, payload: create },
      { status: 400, code: 'GREGOR_ERR_INVALID_ARGUMENT' },
    );
    await p(
      inject,
      { url: '/v1/users/alice/messages', payload: create },
      { status: 401, code: 'GREGOR_ERR_AUTH_REQUIRED' },
    );
    await p(
      inject,
      { url: '/v1/users/alice/messages', headers: { authorization: 'Bearer nope' }, payload: create },
      { status: 401, code: 'GREGOR_ERR_AUTH_INVALID' },
    );
    await p(
      inject,
      { url: '/v1/users/bob/messages', headers: alice, payload: create },
      { status: 403, code: 'GREGOR_ERR_FORBIDDEN' },
    );
    await p(
      inject,
      {
        url: '/v1/users/alice/messages',
        headers: json,
        payload: `${create.slice(0, -1)},"pad":"${'x'.repeat(5000)}"}`,
      },
      { status: 413, code: 'GREGOR_ERR_TOO_LARGE' },
    );
    await p(
      inject,
      { url: '/v1/users/alice/messages', headers: { ...svc, 'content-type': 'text/plain' }, payload: 'hi' },
      { status: 415, code: 'GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE' },
    );
    await p(
      inject,
      { url: '/v1/users/alice/messages', headers: { authorization: 'Bearer boom' }, payload: create },
      { status: 500, code: 'GREGOR_ERR_INTERNAL' },
    );
    // `default`: an extension refused with a code of its own.
    await p(
      inject,
      { url: '/v1/users/alice/messages', headers: { authorization: 'Bearer slow-down' }, payload: create },
      { status: 429, code: 'GREGOR_ERR_RATE_LIMITED' },
    );

    const flush = { method: 'POST', url: '/v1/users/:uid/flush' };
    await p(flush, { url: '/v1/users/alice/flush', headers: alice }, { status: 200 });
    await p(
      flush,
      { url: '/v1/users/alice/flush', headers: json, payload: '{' },
      { status: 400, code: 'GREGOR_ERR_BAD_JSON' },
    );
    await p(
      flush,
      { url: '/v1/users/alice/flush', headers: { ...svc, 'content-type': 'text/plain' }, payload: 'x' },
      { status: 415 },
    );

    const state = { method: 'GET', url: '/v1/users/:uid/state' };
    const s = await p(
      state,
      { url: '/v1/users/alice/state?device=phone&at=%2B1h', headers: alice },
      { status: 200 },
    );
    expect(s.json().items).toEqual({
      a: expect.objectContaining({ category: 'c', body: JSON.parse('{"__proto__":1}') }),
    });
    expect(Object.hasOwn(s.json().items.a.body, '__proto__')).toBe(true);
    await p(
      state,
      { url: '/v1/users/alice/state?at=soon', headers: alice },
      { status: 400, code: 'GREGOR_ERR_INVALID_TIME' },
    );
    await p(
      state,
      { url: '/v1/users/alice/state?device=a%20b', headers: alice },
      { status: 400, code: 'GREGOR_ERR_INVALID_ARGUMENT' },
    );
    await p(state, { url: '/v1/users/alice/state' }, { status: 401 });
    await p(state, { url: '/v1/users/bob/state', headers: alice }, { status: 403 });
    await p(
      state,
      { url: '/v1/users/alice/state', headers: { authorization: 'Bearer boom' } },
      { status: 500 },
    );

    const messages = { method: 'GET', url: '/v1/users/:uid/messages' };
    const page = await p(
      messages,
      { url: '/v1/users/alice/messages?after=0&limit=1', headers: svc },
      { status: 200 },
    );
    expect(page.json()).toMatchObject({
      cursor: 2,
      truncated: true,
      messages: [{ seq: 1, system: 'gregor' }],
    });
    await p(messages, { url: '/v1/users/alice/messages?since=-1h', headers: svc }, { status: 200 });
    await p(
      messages,
      { url: '/v1/users/alice/messages?after=-1', headers: svc },
      { status: 400, code: 'GREGOR_ERR_INVALID_ARGUMENT' },
    );
    await p(
      messages,
      { url: '/v1/users/alice/messages?since=soon', headers: svc },
      { status: 400, code: 'GREGOR_ERR_INVALID_TIME' },
    );
    await p(messages, { url: '/v1/users/alice/messages' }, { status: 401 });
    await p(messages, { url: '/v1/users/bob/messages', headers: alice }, { status: 403 });

    const devices = { method: 'GET', url: '/v1/users/:uid/devices' };
    await p(devices, { url: '/v1/users/alice/devices', headers: alice }, { status: 200 });
    await p(
      devices,
      { url: '/v1/users/alice/devices', headers: { authorization: 'Bearer x.y.z' } },
      { status: 401 },
    );
    await p(devices, { url: '/v1/users/bob/devices', headers: alice }, { status: 403 });
    await p(devices, { url: `/v1/users/${'u'.repeat(129)}/devices`, headers: alice }, { status: 400 });

    await p({ method: 'GET', url: '/healthz' }, { url: '/healthz' }, { status: 200 });
    await p({ method: 'GET', url: '/readyz' }, { url: '/readyz' }, { status: 200 });
    await p({ method: 'GET', url: '/metrics' }, { url: '/metrics' }, { status: 200 });
    await p({ method: 'GET', url: '/openapi.json' }, { url: '/openapi.json' }, { status: 200 });
  });

  it('a user over the interval-device limit gets the documented 409', async () => {
    const json = { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' };
    const dismiss = (device: string) => ({
      system: 'gregor',
      body: { dismiss: { intervals: [{ category: 'c', end: '+0s' }], for_device: device } },
    });
    const route = { method: 'POST', url: '/v1/users/:uid/messages' };
    for (let i = 0; i < 64; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/users/many/messages',
        headers: json,
        payload: dismiss(`d${i}`),
      });
      expect(r.statusCode, r.body).toBe(200);
    }
    await probe(
      app,
      doc,
      check,
      route,
      { url: '/v1/users/many/messages', headers: json, payload: dismiss('d64') },
      {
        status: 409,
        code: 'GREGOR_ERR_TOO_MANY_TOMBSTONES',
      },
    );
  });

  it('a path that is no route gets a coded 404 in the error schema', async () => {
    const r = await app.inject({ url: '/v1/nope' });
    expect(r.statusCode).toBe(404);
    const validate = check({ $ref: '#/components/schemas/GregorError' });
    expect(validate(r.json())).toBe(true);
    expect(r.json().code).toBe('GREGOR_ERR_NOT_FOUND');
  });

  it('once storage is closed, readiness and reads answer their documented 503', async () => {
    const closing = await gregorWith();
    const served = await serve(closing);
    try {
      const svc = { authorization: `Bearer ${await serviceToken()}` };
      await closing.close();
      const ready = await probe(
        served.app,
        served.doc,
        check,
        { method: 'GET', url: '/readyz' },
        { url: '/readyz' },
        { status: 503 },
      );
      expect(ready.json()).toMatchObject({ status: 'not ready', checks: { accepting: 'shutting down' } });
      for (const [method, path] of [
        ['GET', 'state'],
        ['GET', 'messages'],
        ['POST', 'messages'],
        ['POST', 'flush'],
      ] as const) {
        const payload =
          method === 'POST' && path === 'messages' ? { system: 'gregor', body: { flush: true } } : undefined;
        await probe(
          served.app,
          served.doc,
          check,
          { method, url: `/v1/users/:uid/${path}` },
          { url: `/v1/users/alice/${path}`, headers: svc, ...(payload ? { payload } : {}) },
          // Reads find the storage closed; messages are refused from the start of the shutdown.
          { status: 503, code: method === 'POST' ? 'GREGOR_ERR_NOT_READY' : 'GREGOR_ERR_CLOSED' },
        );
      }
    } finally {
      await served.app.close();
    }
  });
});

describe('roles', () => {
  let gregor: Gregor;
  beforeAll(async () => {
    gregor = await gregorWith();
  });
  afterAll(async () => {
    await gregor.close();
  });

  it('a route without a role stops the API from starting', async () => {
    const app = Fastify();
    void app.register(async (scope) => {
      enforceRoles(scope, gregor.core);
      scope.get('/forgotten', async () => 'open to anyone?');
    });
    await expect(app.ready()).rejects.toThrow(/GET \/forgotten declares no role/);
  });

  it('service routes take service tokens only; user-or-service routes a user token for its own uid', async () => {
    const app = Fastify();
    await app.register(async (scope) => {
      enforceRoles(scope, gregor.core);
      scope.setErrorHandler((e, _request, reply) =>
        reply.code((e as GregorError).status).send((e as GregorError).toJSON()),
      );
      scope.get('/admin', { config: { auth: 'service' } }, async () => 'ok');
      scope.get('/u/:uid', { config: { auth: 'user-or-service' } }, async () => 'ok');
    });
    const get = async (url: string, token?: string) =>
      (await app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} })).statusCode;
    expect(await get('/admin')).toBe(401);
    expect(await get('/admin', await userToken('alice'))).toBe(403);
    expect(await get('/admin', await serviceToken())).toBe(200);
    expect(await get('/u/alice', await userToken('alice'))).toBe(200);
    expect(await get('/u/bob', await userToken('alice'))).toBe(403);
    expect(await get('/u/bob', await serviceToken())).toBe(200);
    await app.close();

    const user: Principal = { kind: 'user', uid: 'alice', device: null, validUntil: null };
    expect(() => checkRole('service', user, null)).toThrow(/needs a service token/);
    expect(checkRole('user-or-service', user, 'alice')).toBe(user);
  });
});

describe('mounted under a prefix in an app with its own swagger and request decorations', () => {
  it('documents exactly Gregor’s routes, with the prefix', async () => {
    const gregor = await gregorWith();
    const app = Fastify();
    app.decorateRequest('principal', null);
    await app.register(fastifySwagger, { openapi: { info: { title: 'the app', version: '1' } } });
    app.get('/hello', async () => ({ hello: 'from the app' }));
    await app.register(gregor.plugin, { prefix: '/gregor' });
    await app.ready();
    try {
      const doc = (await app.inject('/gregor/openapi.json')).json() as Doc;
      expect(
        (await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0])).valid,
      ).toBe(true);
      const paths = Object.keys(doc.paths);
      expect(paths).toContain('/gregor/v1/users/{uid}/messages');
      expect(
        paths.every((p) => p.startsWith('/gregor/')),
        paths.join(),
      ).toBe(true);
      expect(doc.info.description).toContain('`/gregor/v1/ws');
      // The app's own document still works (and Gregor's refusals are still coded under the prefix).
      expect(Object.keys((app.swagger() as unknown as Doc).paths)).toContain('/hello');
      const refused = await app.inject({ url: '/gregor/v1/users/alice/state' });
      expect([refused.statusCode, refused.json().code]).toEqual([401, 'GREGOR_ERR_AUTH_REQUIRED']);
    } finally {
      await app.close();
    }
  });
});

describe('the request schemas describe what Gregor’s validators accept', () => {
  let doc: Doc;
  let check: (schema: object) => ValidateFunction;
  beforeAll(async () => {
    const gregor = await gregorWith();
    const served = await serve(gregor);
    doc = served.doc;
    check = schemaChecker(doc);
    await served.app.close();
    await gregor.close();
  });

  const parameter = (path: string, name: string) =>
    (doc.paths[path]!.get!.parameters as unknown as { name: string; schema: object }[]).find(
      (p) => p.name === name,
    )!.schema;
  const accepts = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  const samples = fc.sample(nasty, { seed: 7, numRuns: 400 });

  it('user and device IDs: the schema and the validator agree both ways', () => {
    const uid = check(parameter('/v1/users/{uid}/state', 'uid'));
    const device = check(parameter('/v1/users/{uid}/state', 'device'));
    for (const s of [...samples, 'a', '', 'u'.repeat(128), 'u'.repeat(129), '__proto__', 'a b', 'x.y:z~-_']) {
      expect(uid(s), JSON.stringify(s)).toBe(accepts(() => optionalId(s, 'uid')!.length));
      expect(device(s), JSON.stringify(s)).toBe(accepts(() => optionalId(s, 'device')));
    }
  });

  it('cursors and times: whatever the validator accepts, the schema accepts', () => {
    const after = new Ajv2020({ coerceTypes: true, strict: false }).compile({
      type: 'object',
      properties: { after: parameter('/v1/users/{uid}/messages', 'after') },
    });
    const at = check(parameter('/v1/users/{uid}/state', 'at'));
    const times = [
      '-1h',
      '+90s',
      '+1.5d',
      '1457056447',
      '1457056447.25',
      '2026-11-23T10:00:00Z',
      '2026-11-23T10:00+01:00',
    ];
    for (const s of [...samples, '0', '007', '123456789012345', '1234567890123456', '-1', '1.5', ...times]) {
      if (accepts(() => whole(s, 'after'))) expect(after({ after: s }), s).toBe(true);
      if (accepts(() => parseTimeOrOffset(s, 'at'))) expect(at(s), s).toBe(true);
    }
    for (const s of times) expect(at(s), s).toBe(true);
  });

  it('messages: every message parseMessage accepts is valid against NewMessage', () => {
    const newMessage = check({ $ref: '#/components/schemas/NewMessage' });
    let valid = 0;
    for (const input of fc.sample(fuzzedMessage, { seed: 11, numRuns: 3000 })) {
      let body: unknown;
      try {
        body = JSON.parse(JSON.stringify(input));
      } catch {
        continue;
      }
      if (!accepts(() => parseMessage(body, { uid: 'u', now: Date.now() }))) continue;
      valid++;
      expect(newMessage(body), `${JSON.stringify(body)}: ${JSON.stringify(newMessage.errors)}`).toBe(true);
    }
    expect(valid).toBeGreaterThan(500);
    // The structure the schema states is refused by both.
    for (const body of [
      { system: 'gregor' },
      { system: 'gregor', body: {} },
      { system: 'gregor', body: { create: { a: {} } } },
      { system: 'gregor', body: { flush: false } },
      { system: 'gregor', body: { create: { 'a b': { category: 'c' } } } },
      { system: 'gregor', body: { dismiss: { ids: ['a'] } }, extra: 1 },
      { system: '', body: 1 },
    ]) {
      expect(newMessage(body), JSON.stringify(body)).toBe(false);
      expect(
        accepts(() => parseMessage(body, { uid: 'u', now: Date.now() })),
        JSON.stringify(body),
      ).toBe(false);
    }
  });
});

const redisUp = await requireRedis('the Notify Twirp route in the OpenAPI document');

describe.skipIf(!redisUp)('the Notify Twirp route, with Redis', () => {
  it('is documented, public, and answers what it documents', async () => {
    const gregor = await gregorWith({ redisUrl: REDIS_URL });
    const { app, routes, doc } = await serve(gregor);
    try {
      const check = schemaChecker(doc);
      const route = { method: 'POST', url: '/twirp/notify.NotifyService/Auth' };
      expect(routes.map((r) => r.url)).toContain(route.url);
      expect(doc.paths[route.url]!.post!.security).toEqual([]);
      const post = (payload: string, type = 'application/json') => ({
        url: route.url,
        headers: { 'content-type': type },
        payload,
      });
      const ok = await probe(
        app,
        doc,
        check,
        route,
        post(JSON.stringify({ authorization: await userToken('42') })),
        {
          status: 200,
        },
      );
      expect(ok.json()).toEqual({ userID: '42' });
      await probe(app, doc, check, route, post('{'), { status: 400, code: 'malformed' });
      await probe(app, doc, check, route, post('{"authorization":"nope"}'), {
        status: 401,
        code: 'unauthenticated',
      });
      await probe(app, doc, check, route, post('\n\u0001x', 'text/plain'), {
        status: 404,
        code: 'bad_route',
      });
    } finally {
      await app.close();
      await gregor.close();
    }
  });
});
