import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GregorError } from '../../protocol/errors.js';
import type { Principal } from '../auth.js';
import type { Gregord } from '../gregord.js';
import { optionalId } from './arguments.js';

/**
 * Who may call a route, declared by each route of the API in its `config.auth`:
 * - `public`: anyone, no token (health, readiness, metrics, the OpenAPI document);
 * - `user-or-service`: a service token for any user, a user token only for the `:uid` in the path;
 * - `service`: service tokens only.
 */
export type Role = 'public' | 'user-or-service' | 'service';

export const ROLES: readonly Role[] = ['public', 'user-or-service', 'service'];

/** A route's `config`, as the API's routes declare it: `config: { auth: 'public' } satisfies AuthConfig`. */
export interface AuthConfig {
  readonly auth: Role;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call a Gregor route (see Role); the API refuses to start with a route that has none. */
    auth?: Role;
  }
}

/** A symbol, not a name: an app that mounts Gregor may decorate its requests with a `principal` of its own. */
const PRINCIPAL = Symbol('gregor.principal');

/** The role a route declares, if any. */
export function roleOf(route: { readonly config?: unknown }): Role | undefined {
  const auth = (route.config as { auth?: unknown } | undefined)?.auth;
  return ROLES.includes(auth as Role) ? (auth as Role) : undefined;
}

/** Who the request's token speaks for, once the onRequest hook checked it; null on public routes. */
export function principalOf(request: FastifyRequest): Principal | null {
  return request.getDecorator<Principal | null>(PRINCIPAL);
}

/**
 * Authentication for one scope of routes: every route registered in it must declare a role (a
 * route without one stops the server from starting), and one onRequest hook authenticates the
 * `Authorization` header with `gregord.authenticate` (extension hooks, then the JWT verifier) and
 * enforces the role before any body is read (a refused request's connection closes after the
 * answer). Refusals are coded: 400 for a malformed `:uid`, 401 without a valid token, 403 for a
 * token that may not act here.
 *
 * @example
 *   enforceRoles(app, gregord);
 *   app.get('/v1/users/:uid/devices', { config: { auth: 'user-or-service' } }, async (request) =>
 *     principalOf(request)); // { kind: 'user', uid: 'alice', ... }
 */
export function enforceRoles(app: FastifyInstance, gregord: Gregord): void {
  app.decorateRequest(PRINCIPAL, null);
  app.addHook('onRoute', (route) => {
    const role = roleOf(route);
    if (role === undefined) {
      throw new Error(
        `${route.method} ${route.url} declares no role: set config.auth to ${ROLES.join(' | ')}`,
      );
    }
    if (role === 'user-or-service' && !route.url.includes(':uid')) {
      throw new Error(`${route.method} ${route.url} is user-or-service but names no :uid`);
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    const role = roleOf(request.routeOptions);
    if (role === undefined || role === 'public') return;
    try {
      request.setDecorator(PRINCIPAL, await authorize(gregord, role, request));
    } catch (e) {
      // The body is not read for a refused caller: the connection closes after the answer,
      // instead of reading (and waiting for) a body nobody will look at.
      if (hasBody(request)) reply.header('connection', 'close');
      throw e;
    }
  });
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function authorize(gregord: Gregord, role: Exclude<Role, 'public'>, request: FastifyRequest) {
  const uid = role === 'user-or-service' ? pathUid(request) : null;
  const header = request.headers.authorization;
  if (!header) throw new GregorError('AUTH_REQUIRED', 'send Authorization: Bearer <token>');
  return checkRole(role, await gregord.authenticate(header, 'http', request.headers), uid);
}

/**
 * Whether an authenticated principal may call a route of `role` for `uid` (the path's user, or
 * null): returns it, or throws GREGOR_ERR_FORBIDDEN.
 */
export function checkRole(
  role: Exclude<Role, 'public'>,
  principal: Principal,
  uid: string | null,
): Principal {
  if (role === 'service' && principal.kind !== 'service') {
    throw new GregorError('FORBIDDEN', 'this route needs a service token');
  }
  if (principal.kind === 'user' && principal.uid !== uid) {
    throw new GregorError('FORBIDDEN', 'a user token acts only for its own user');
  }
  return principal;
}

function pathUid(request: FastifyRequest): string {
  const uid = optionalId((request.params as { uid?: string }).uid, 'uid');
  if (uid === null) throw new GregorError('INVALID_ARGUMENT', 'uid: the path must name a user');
  return uid;
}
