import type { Message } from '../../src/protocol/message.js';
import { parseMessage } from '../../src/protocol/validate.js';

/** Seconds to ms: the wire speaks seconds (seed 002), engines speak ms. */
export const s = (seconds: number): number => seconds * 1000;

let counter = 0;
/** A user ID no other test uses: engines are shared across the tests of a suite. */
export function freshUid(prefix = 'u'): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

/** Parses a wire message as if the server accepted it at `ctime` (ms). */
export function wire(uid: string, ctime: number, message: unknown, device: string | null = null): Message {
  return parseMessage(message, { uid, now: ctime, device });
}

/** Seed 002, "Your Friend Joins KB After You've Social-Media-Shared with them", step 2, verbatim. */
export const SEED_JOIN_CREATE = {
  system: 'gregor',
  body: {
    create: {
      '5d44d2ad9aabab30': {
        times: {
          created: 1457056447,
          expires: 1488592477,
          remind_at: [1457402098],
        },
        for_device: null,
        category: 'user.joined',
        body: {
          social_media_name: 'bob@twitter',
          keybase: 'kbob',
          uid: 'f8da58e5a6d0d0800f361bc139015a19',
        },
      },
    },
    dismiss: {},
  },
};

/** Step 3: Alice's server-side JSON blob after step 2, verbatim. */
export const SEED_JOIN_BLOB = {
  '5d44d2ad9aabab30': {
    times: {
      created: 1457056447,
      expires: 1488592477,
      remind_at: [1457402098],
    },
    for_device: null,
    category: 'user.joined',
    body: {
      social_media_name: 'bob@twitter',
      keybase: 'kbob',
      uid: 'f8da58e5a6d0d0800f361bc139015a19',
    },
  },
};

/** Step 6: the dismissal sent by one of Alice's devices, verbatim. */
export const SEED_JOIN_DISMISS = { system: 'gregor', body: { dismiss: { ids: ['5d44d2ad9aabab30'] } } };

/** Seed 002's "typical create", verbatim: an item for one device. */
export const SEED_TYPICAL_CREATE = {
  system: 'gregor',
  body: {
    create: {
      aabbccee: {
        times: {
          created: 140000,
          expires: 150000,
          remind_at: [142000, 143000],
        },
        for_device: '33aabb',
        category: 'user.joined',
        body: {
          social_media_name: 'bob@twitter',
          keybase: 'kbob',
        },
      },
    },
  },
};

/** Seed 002's out-of-band example, verbatim. */
export const SEED_FAVORITES = {
  system: 'kbfs.favorites',
  body: { action: 'delete', tlf: '/private/alice,max' },
};

/** Seed 002's flush command, verbatim. */
export const SEED_FLUSH = { system: 'gregor', body: { flush: true } };
