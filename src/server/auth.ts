import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { GregorError } from '../protocol/errors.js';
import { fromWireTime } from '../protocol/time.js';
import { id } from '../protocol/validate.js';
import { fitsGregor, notifyUserId, toGregorUid, UserIdRefused } from './notify/identity.js';

/** Who a verified token speaks for. */
export interface Principal {
  /** `service`: a backend that may act for any user; `user`: one user's device. */
  readonly kind: 'user' | 'service';
  /**
   * The Gregor user ID (src/server/notify/identity.ts `toGregorUid` of the token's user ID). Null
   * for a service token, and for a user token whose encoded ID is over Gregor's 128 characters
   * (such a user can use the Notify surface only).
   */
  readonly uid: string | null;
  /**
   * The user ID exactly as Notify reads it from the token (`user_id`'s text, or `sub`): the Notify
   * surface keys Redis with it (`notify:<notifyId>`). Set by the JWT verifier for user tokens.
   */
  readonly notifyId?: string;
  readonly device: string | null;
  /**
   * When the token stops being accepted (ms): its `exp` plus the allowed clock skew, or null
   * without `exp`. One rule everywhere: a token accepted at auth lives until then, and sessions
   * end then.
   */
  readonly validUntil: number | null;
}

/** The scope claim that marks a service token. */
export const SERVICE_SCOPE = 'gregor:service';

const HMAC = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface AuthOptions {
  readonly userSecret?: string | null;
  readonly userPublicKeyPem?: string | null;
  /** A JWKS document (already read) or an https URL. */
  readonly jwks?: { readonly keys: unknown[] } | URL | null;
  readonly serviceSecret: string;
  readonly issuer?: string | null;
  readonly audience?: string | null;
  readonly leewaySeconds: number;
}

type Key = KeyObject | JWTVerifyGetKey;

/** Verified tokens kept so a backend's repeated token is not re-verified per request; bounded. */
const CACHE_SIZE = 10_000;
/** A cached verification is trusted at most this long, even for tokens without `exp`. */
const CACHE_MS = 60_000;

/**
 * Verifies JWTs (jose). User tokens carry `user_id` (string or number, as in Notify) or `sub`, and
 * optionally `device_id` (a malformed one is refused by `assertDevice`, not by `verify`); service tokens carry `scope: "gregor:service"` and are signed with the
 * separate service secret. Algorithms are pinned per key type, so `alg: none` and algorithm
 * confusion (an RS public key used as an HS secret) are refused.
 *
 * @example
 *   const auth = new Authenticator({ userSecret, serviceSecret, leewaySeconds: 30 });
 *   const who = await auth.verify(token); // { kind: 'user', uid: 'alice', device: null, ... }
 */
export class Authenticator {
  readonly #userKey: Key;
  readonly #userAlgorithms: string[];
  readonly #serviceKey: KeyObject;
  readonly #options: AuthOptions;
  readonly #cache = new Map<string, { principal: Principal; until: number }>();
  /** Principals whose token's `device_id` is not a Gregor device ID (their `device` is null). */
  readonly #badDevice = new WeakMap<Principal, string>();

  constructor(options: AuthOptions) {
    this.#options = options;
    // Keys are imported once: jose would otherwise import a raw secret on every verification.
    this.#serviceKey = createSecretKey(Buffer.from(options.serviceSecret, 'utf8'));
    if (options.userPublicKeyPem) {
      const key = createPublicKey(options.userPublicKeyPem);
      this.#userKey = key;
      this.#userAlgorithms = algorithmsFor(key);
    } else if (options.jwks) {
      this.#userKey =
        options.jwks instanceof URL
          ? createRemoteJWKSet(options.jwks)
          : createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0]);
      this.#userAlgorithms = ASYMMETRIC;
    } else if (options.userSecret) {
      this.#userKey = createSecretKey(Buffer.from(options.userSecret, 'utf8'));
      this.#userAlgorithms = HMAC;
    } else {
      throw new GregorError(
        'INVALID_CONFIG',
        'no key for user tokens: set jwt-secret, jwt-public-key or jwt-jwks',
      );
    }
  }

  /** Verifies a token (a leading "Bearer " is ignored). Throws GREGOR_ERR_AUTH_* on failure. */
  async verify(raw: string): Promise<Principal> {
    const token = raw.startsWith('Bearer ') ? raw.slice(7) : raw;
    const now = Date.now();
    const hit = this.#cache.get(token);
    if (hit && hit.until > now) return hit.principal;
    const principal = await this.#verify(token);
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    // Trusted until the token stops being valid, and never longer than CACHE_MS.
    this.#cache.set(token, { principal, until: Math.min(principal.validUntil ?? Infinity, now + CACHE_MS) });
    return principal;
  }

  /**
   * Throws GREGOR_ERR_AUTH_INVALID when the token of `principal` (from `verify`) has a `device_id`
   * that is not a Gregor device ID. `verify` does not refuse such a token itself: Notify ignores
   * every claim but `user_id` and the standard ones, so the Notify surface takes it (with
   * `device: null`); Gregor's own transports call this (src/server/extensions/builtin/jwt.ts).
   *
   * @example
   *   const who = await auth.verify(token); // device_id: 7 → { device: null, ... }
   *   auth.assertDevice(who); // throws "the token's device ID is malformed: ..."
   */
  assertDevice(principal: Principal): void {
    const problem = this.#badDevice.get(principal);
    if (problem !== undefined) throw new GregorError('AUTH_INVALID', problem);
  }

  async #verify(token: string): Promise<Principal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new GregorError('AUTH_INVALID', 'the token is not a JWT');
    }
    const service = hasScope(unverified, SERVICE_SCOPE);
    const payload = await this.#verified(token, service);
    const validUntil =
      typeof payload.exp === 'number' ? fromWireTime(payload.exp + this.#options.leewaySeconds) : null;
    if (service) return { kind: 'service', uid: null, device: null, validUntil };
    const notifyId = userId(token, payload);
    const uid = toGregorUid(notifyId);
    const device = deviceId(payload);
    const principal: Principal = {
      kind: 'user',
      uid: fitsGregor(uid) ? uid : null,
      notifyId,
      device: typeof device === 'string' ? device : null,
      validUntil,
    };
    if (device !== null && typeof device === 'object') this.#badDevice.set(principal, device.problem);
    return principal;
  }

  async #verified(token: string, service: boolean): Promise<JWTPayload> {
    const o = this.#options;
    try {
      const { payload } = await jwtVerify(token, (service ? this.#serviceKey : this.#userKey) as KeyObject, {
        algorithms: service ? HMAC : this.#userAlgorithms,
        clockTolerance: o.leewaySeconds,
        ...(o.issuer ? { issuer: o.issuer } : {}),
        ...(o.audience ? { audience: o.audience } : {}),
      });
      return payload;
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new GregorError('AUTH_EXPIRED', 'the token has expired');
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf') {
        throw new GregorError('AUTH_EXPIRED', 'the token is not valid yet (nbf)');
      }
      if (e instanceof errors.JWTClaimValidationFailed) {
        throw new GregorError('AUTH_INVALID', `the token's "${e.claim}" claim is not accepted`);
      }
      if (e instanceof errors.JOSEAlgNotAllowed) {
        throw new GregorError(
          'AUTH_INVALID',
          'the token is signed with an algorithm this server does not accept',
        );
      }
      throw new GregorError('AUTH_INVALID', 'the token signature does not verify');
    }
  }
}

function hasScope(p: JWTPayload, scope: string): boolean {
  const s = p.scope;
  return typeof s === 'string' ? s.split(' ').includes(scope) : Array.isArray(s) && s.includes(scope);
}

/**
 * The user ID as Notify reads it: `user_id` from the verified payload's own text (a string as is,
 * any other JSON literal verbatim, so no number loses precision; an object or array is refused), else a `sub` string (or a safe
 * integer). A token that names no user (`""`, or neither claim) is refused, where Notify would
 * take the empty ID.
 */
function userId(token: string, p: JWTPayload): string {
  let fromUserId: string | undefined;
  try {
    fromUserId = notifyUserId(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch (e) {
    if (e instanceof UserIdRefused) throw new GregorError('AUTH_INVALID', e.message);
    // jose has parsed this payload already: only a scanner defect lands here; refuse, never crash.
    throw new GregorError('AUTH_INVALID', "the token's payload could not be read");
  }
  const raw = fromUserId ?? p.sub;
  const uid = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof uid !== 'string' || uid === '') {
    throw new GregorError('AUTH_INVALID', 'the token names no user: give it a user_id or sub claim');
  }
  return uid;
}

/** The token's device ID, null without one, or why it is not a Gregor device ID. */
function deviceId(p: JWTPayload): string | null | { problem: string } {
  if (p.device_id === undefined || p.device_id === null) return null;
  try {
    return id(p.device_id, 'device_id');
  } catch (e) {
    return { problem: `the token's device ID is malformed: ${(e as Error).message}` };
  }
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return [curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256'];
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      throw new GregorError(
        'INVALID_CONFIG',
        `jwt-public-key: unsupported key type ${key.asymmetricKeyType}`,
      );
  }
}

/** Reads a JWKS setting: an https URL stays a URL (fetched and cached by jose), a path is read now. */
export async function loadJwks(setting: string): Promise<{ keys: unknown[] } | URL> {
  if (/^https?:\/\//.test(setting)) return new URL(setting);
  try {
    const doc = JSON.parse(await readFile(setting, 'utf8')) as { keys?: unknown };
    if (!Array.isArray(doc.keys)) throw new Error('no "keys" array');
    return { keys: doc.keys };
  } catch (e) {
    throw new GregorError(
      'INVALID_CONFIG',
      `jwt-jwks: cannot read a JWKS from ${setting}: ${(e as Error).message}`,
    );
  }
}
