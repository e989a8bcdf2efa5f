import type { Authenticator } from '../../auth.js';
import type { Extension } from '../types.js';

/**
 * Verifies JWTs (docs/security.md) when no hook before it decided who the caller is. Its
 * priority, 50, lets an extension of the default priority (100) replace it (a session lookup
 * returns a Principal first) and one below 50 augment it (it sees the token's Principal).
 * A token whose `device_id` is not a Gregor device ID is refused on Gregor's own transports; the
 * Notify surface takes it (Notify ignores that claim), with no device.
 *
 * @example
 *   createGregor({ extensions: [sessions] }); // sessions.onAuthenticate runs first
 */
export function jwtAuth(authenticator: Authenticator): Extension {
  return {
    name: 'jwt',
    priority: 50,
    onAuthenticate: async ({ token, transport, principal }) => {
      if (principal) return undefined;
      const verified = await authenticator.verify(token);
      if (transport !== 'notify') authenticator.assertDevice(verified);
      return verified;
    },
  };
}
