/**
 * The wire message the in-process benches (core, storage) consume: create of item `i<i>` with an
 * expiry, a reminder, a device target on every tenth, two categories and a small body.
 *
 * @example
 *   const m = parseMessage(benchCreate(7), { uid: 'u7', now });
 */
export function benchCreate(i: number): unknown {
  return {
    id: `m${i}`,
    system: 'gregor',
    body: {
      create: {
        [`i${i}`]: {
          times: { expires: '+30d', remind_at: ['+1h'] },
          for_device: i % 10 === 0 ? 'phone' : null,
          category: i % 3 === 0 ? 'follow' : 'joined',
          body: { who: `user${i % 977}`, n: i },
        },
      },
    },
  };
}
