/**
 * A NATS subject prefix: one or more dot-separated tokens of A-Z a-z 0-9 _ -. Wildcards (`*`, `>`)
 * and whitespace would change what a subject matches.
 */
export const NATS_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * The subjects of one deployment: `<prefix>.u.<base64url(uid)>` per user, `<prefix>.resync` for
 * resync notices. User IDs may contain `.`, NATS's token separator; base64url never does, so each
 * user is exactly one token and no user's subject can be another's or the resync subject.
 *
 * @example
 *   new Subjects('gregor').user('alice.b') // 'gregor.u.YWxpY2UuYg'
 */
export class Subjects {
  readonly resync: string;
  readonly #userPrefix: string;

  constructor(prefix: string) {
    if (!NATS_PREFIX.test(prefix)) {
      throw new Error(
        `NATS subject prefix ${JSON.stringify(prefix)}: use tokens of A-Z a-z 0-9 _ - joined by "."`,
      );
    }
    this.resync = `${prefix}.resync`;
    this.#userPrefix = `${prefix}.u.`;
  }

  user(uid: string): string {
    return this.#userPrefix + Buffer.from(uid, 'utf8').toString('base64url');
  }
}
