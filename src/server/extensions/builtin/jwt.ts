import type { Authenticator } from '../../auth.js';
import type { Extension } from '../types.js';

/**
 * Verifies JWTs (docs/security.md) when no hook before it decided who the caller is. Its
 * priority, 50, lets an extension of the default priority (100) replace it (a session lookup
 * returns a Principal first) and one below 50 augment it (it sees the token's Principal).
 *
 * @example
 *   createGregor({ extensions: [sessions] }); // sessions.onAuthenticate runs first
 */
export function jwtAuth(authenticator: Authenticator): Extension {
  return {
    name: 'jwt',
    priority: 50,
    onAuthenticate: ({ token, principal }) => (principal ? undefined : authenticator.verify(token)),
  };
}
