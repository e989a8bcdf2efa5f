import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GregorError } from '../../src/protocol/errors.js';
import { parseClientFrame, parseServerFrame, parseServerText } from '../../src/protocol/frames.js';
import { itemToWire, messageToWire } from '../../src/protocol/message.js';
import { toWireTime } from '../../src/protocol/time.js';
import { parseMessage } from '../../src/protocol/validate.js';
import { messageSpec, toMessages } from '../conformance/arbitraries.js';
import { SEED_FAVORITES, SEED_TYPICAL_CREATE } from '../conformance/fixtures.js';

const HASH = 'a'.repeat(64);
const ITEM = {
  times: { created: 1457056447, expires: null, remind_at: [1457056500.25] },
  for_device: null,
  category: 'user.joined',
  body: { who: 'max' },
};
const MESSAGE = { id: 'm1', ctime: 1457056447.5, system: 'gregor', body: { dismiss: { ids: ['a1'] } } };

/** One frame of every type, as docs/protocol.md writes them (times in seconds). */
const EXAMPLES = {
  hello: { type: 'hello', uid: 'alice', device: 'laptop', server_time: 1764000000.123, heartbeat_ms: 30000 },
  state: {
    type: 'state',
    cursor: 3,
    hash: HASH,
    items: { a1: { ...ITEM, msg_id: 'm0', ctime: 1457056447 } },
    flush: true,
  },
  messages: { type: 'messages', cursor: 4, hash: HASH, messages: [{ ...MESSAGE, seq: 4 }] },
  synced: { type: 'synced', cursor: 4 },
  message: { type: 'message', message: { ...MESSAGE, seq: 5 } },
  reminder: { type: 'reminder', item_id: 'a1', remind_at: 1457056500.25, item: ITEM },
  ack: { type: 'ack', ref: 'r1', msg_id: 'm1', seq: 5, status: 'stored' },
  error: {
    type: 'error',
    ref: 'r2',
    code: 'GREGOR_ERR_INVALID_MESSAGE',
    message: 'body: expected an object',
  },
  pong: { type: 'pong', ref: 'p1', server_time: 1764000000.5 },
} as const;

type Path = readonly (string | number)[];

/** A deep copy of `frame` with the value at `path` replaced, or removed when `value` is `undefined`. */
function withValue(frame: object, path: Path, value: unknown): unknown {
  const copy = structuredClone(frame) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

function refusal(value: unknown): GregorError {
  try {
    parseServerFrame(value);
  } catch (e) {
    if (e instanceof GregorError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

/** The field as the refusal names it: `items.a1.times.created`, `messages[0].seq`. */
const named = (path: Path) =>
  path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');

const NOT_TIMES = ['1457056447', -1, null, {}, true];
const NOT_IDS = ['', 7, null, []];
const NOT_COUNTS = [-1, 1.5, '3', null, 2 ** 53];
/** An item's fields; the item itself may be missing only where it is keyed by its ID (`items.a1`). */
const itemFields = (at: Path): [Path, unknown[]][] => [
  ...(at.length === 1 ? [[[...at], [null, [], 'x']] as [Path, unknown[]]] : []),
  [
    [...at, 'times'],
    [null, [], 1],
  ],
  [[...at, 'times', 'created'], NOT_TIMES],
  [
    [...at, 'times', 'expires'],
    ['never', -5, {}],
  ],
  [
    [...at, 'times', 'remind_at'],
    [null, 1457056500, {}],
  ],
  [[...at, 'times', 'remind_at', 0], NOT_TIMES],
  [
    [...at, 'for_device'],
    ['', 3, {}],
  ],
  [[...at, 'category'], NOT_IDS],
  [[...at, 'body'], []],
];
const messageFields = (at: Path, seq: boolean): [Path, unknown[]][] => [
  [[...at], [null, [], 'm1']],
  [[...at, 'id'], NOT_IDS],
  [[...at, 'ctime'], NOT_TIMES],
  [[...at, 'system'], NOT_IDS],
  [[...at, 'body'], []],
  ...(seq ? [[[...at, 'seq'], NOT_COUNTS] as [Path, unknown[]]] : []),
];

/** Every required field of every frame, with values of the wrong type for it (missing is always tried). */
const REQUIRED: { [T in keyof typeof EXAMPLES]: [Path, unknown[]][] } = {
  hello: [
    [['uid'], NOT_IDS],
    [['device'], NOT_IDS],
    [['server_time'], NOT_TIMES],
    [['heartbeat_ms'], [0, -1, '30000', null]],
  ],
  state: [
    [['cursor'], NOT_COUNTS],
    [['hash'], ['abc', 'A'.repeat(64), 1, null]],
    [['items'], [null, [], 'x']],
    [
      ['items', 'a1'],
      [null, [], 'x', 1],
    ],
    ...itemFields(['items', 'a1']),
    [['items', 'a1', 'msg_id'], NOT_IDS],
    [['items', 'a1', 'ctime'], NOT_TIMES],
  ],
  messages: [
    [['cursor'], NOT_COUNTS],
    [['hash'], ['', null]],
    [['messages'], [null, {}, 'x']],
    ...messageFields(['messages', 0], true),
  ],
  synced: [[['cursor'], NOT_COUNTS]],
  message: messageFields(['message'], false),
  reminder: [[['item_id'], NOT_IDS], [['remind_at'], NOT_TIMES], ...itemFields(['item'])],
  ack: [
    [['msg_id'], NOT_IDS],
    [['seq'], [-1, 1.5, '5']],
    [['status'], ['done', null, 1]],
  ],
  error: [
    [['code'], NOT_IDS],
    [['message'], [null, 1, {}]],
  ],
  pong: [[['server_time'], NOT_TIMES]],
};

describe('parseServerFrame', () => {
  it('accepts a frame of every type, and returns the frame itself', () => {
    for (const frame of Object.values(EXAMPLES)) {
      const copy = JSON.parse(JSON.stringify(frame)) as unknown;
      expect(parseServerFrame(copy)).toBe(copy);
    }
  });

  it('accepts what is optional or may be null: no ref, no flush, no seq on a message, expires and for_device null or set, seq null', () => {
    const accepted = [
      withValue(EXAMPLES.ack, ['ref'], undefined),
      withValue(EXAMPLES.error, ['ref'], undefined),
      withValue(EXAMPLES.pong, ['ref'], undefined),
      withValue(EXAMPLES.state, ['flush'], undefined),
      withValue(EXAMPLES.state, ['items'], {}),
      withValue(EXAMPLES.messages, ['messages'], []),
      withValue(EXAMPLES.message, ['message', 'seq'], undefined),
      withValue(EXAMPLES.ack, ['seq'], null),
      withValue(EXAMPLES.reminder, ['item', 'times', 'expires'], 1457060000),
      withValue(EXAMPLES.reminder, ['item', 'for_device'], 'phone'),
      withValue(EXAMPLES.reminder, ['item', 'body'], null),
      withValue(EXAMPLES.error, ['message'], ''),
      withValue(EXAMPLES.synced, ['cursor'], 0),
      withValue(EXAMPLES.hello, ['server_time'], 0),
    ];
    for (const frame of accepted) expect(() => parseServerFrame(frame), JSON.stringify(frame)).not.toThrow();
  });

  it('tolerates fields it does not know, at every level (a newer server may add some), and keeps them', () => {
    const newer = {
      ...EXAMPLES.state,
      region: 'eu',
      items: { a1: { ...EXAMPLES.state.items.a1, priority: 2, times: { ...ITEM.times, snooze: 3 } } },
    };
    expect(parseServerFrame(newer)).toMatchObject({ region: 'eu', items: { a1: { priority: 2 } } });
    expect(() =>
      parseServerFrame({ ...EXAMPLES.message, message: { ...MESSAGE, origin: 'x' } }),
    ).not.toThrow();
    expect(() => parseServerFrame({ ...EXAMPLES.hello, features: ['x'] })).not.toThrow();
  });

  for (const [type, fields] of Object.entries(REQUIRED)) {
    it(`refuses a ${type} frame without each required field, or with a value of the wrong type, naming the field`, () => {
      const example = EXAMPLES[type as keyof typeof EXAMPLES];
      for (const [path, wrongs] of fields) {
        // An item keyed by its ID may be left out: `items: {}` is the empty state.
        const tries = named(path) === 'items.a1' ? wrongs : [undefined, ...wrongs];
        for (const value of tries) {
          const e = refusal(withValue(example, path, value));
          expect([e.code, e.message.split(':')[0]], `${named(path)} = ${JSON.stringify(value)}`).toEqual([
            'GREGOR_ERR_INVALID_FRAME',
            named(path),
          ]);
        }
      }
    });
  }

  it('refuses numbers that are not finite (a caller may pass values JSON cannot hold)', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal({ ...EXAMPLES.pong, server_time: n }).message).toMatch(/^server_time:/);
      expect(refusal({ ...EXAMPLES.hello, heartbeat_ms: n }).message).toMatch(/^heartbeat_ms:/);
    }
  });

  it('refuses a wrong optional field: a ref that is not a string, flush other than true, an empty item ID', () => {
    expect(refusal({ ...EXAMPLES.ack, ref: 7 }).message).toMatch(/^ref:/);
    expect(refusal({ ...EXAMPLES.pong, ref: null }).message).toMatch(/^ref:/);
    expect(refusal({ ...EXAMPLES.state, flush: false }).message).toMatch(/^flush:/);
    expect(refusal({ ...EXAMPLES.state, items: { '': EXAMPLES.state.items.a1 } }).message).toMatch(/^items:/);
    expect(refusal(withValue(EXAMPLES.message, ['message', 'seq'], -1)).message).toMatch(/^message\.seq:/);
  });

  it('refuses an unknown or missing type, naming `type`, and a frame that is not an object', () => {
    for (const frame of [
      { type: 'hint', text: 'x' },
      { cursor: 1 },
      { type: 7 },
      { type: { toString: 1 } },
    ]) {
      const e = refusal(frame);
      expect([e.code, e.message.split(':')[0]]).toEqual(['GREGOR_ERR_INVALID_FRAME', 'type']);
    }
    expect(refusal({ type: 'hint' }).message).toContain('"hint"');
    for (const value of [null, [], 'hello', 3]) expect(refusal(value).message).toMatch(/^frame:/);
  });

  it('never throws anything but a GregorError on arbitrary JSON', () => {
    const types = [...Object.keys(EXAMPLES), 'auth', 'nope'];
    const fields = ['uid', 'device', 'cursor', 'hash', 'items', 'messages', 'message', 'item', 'seq', 'ref'];
    const frameLike = fc
      .tuple(fc.constantFrom(...types), fc.dictionary(fc.constantFrom(...fields), fc.jsonValue()))
      .map(([type, rest]) => ({ ...rest, type }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), frameLike), (value) => {
        try {
          parseServerFrame(value);
        } catch (e) {
          expect(e).toBeInstanceOf(GregorError);
          expect((e as GregorError).code).toBe('GREGOR_ERR_INVALID_FRAME');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a GregorError when any field of a valid frame is replaced by any JSON', () => {
    const leaves = (value: unknown, path: Path = []): Path[] =>
      typeof value === 'object' && value !== null
        ? [
            path,
            ...Object.entries(value).flatMap(([k, v]) =>
              leaves(v, [...path, Array.isArray(value) ? Number(k) : k]),
            ),
          ]
        : [path];
    const mutated = fc
      .constantFrom(...Object.values(EXAMPLES))
      .chain((frame) =>
        fc
          .tuple(fc.constantFrom(...leaves(frame).filter((p) => p.length > 0)), fc.jsonValue())
          .map(([path, value]) => withValue(frame, path, value)),
      );
    fc.assert(
      fc.property(mutated, (value) => {
        try {
          parseServerFrame(value);
        } catch (e) {
          expect(e).toBeInstanceOf(GregorError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts the frames made by the protocol serialisers from random messages', () => {
    fc.assert(
      fc.property(fc.array(messageSpec, { minLength: 1, maxLength: 6 }), (specs) => {
        const messages = toMessages('alice', specs).map((m, i) => ({ ...messageToWire(m), seq: i + 1 }));
        const items = Object.fromEntries(
          toMessages('alice', specs).flatMap((m) =>
            m.kind === 'update'
              ? m.create.map((item) => [
                  item.id,
                  { ...itemToWire(item), msg_id: m.md.msgId, ctime: toWireTime(m.md.ctime) },
                ])
              : [],
          ),
        );
        const frames = [
          { type: 'messages', cursor: messages.length, hash: HASH, messages },
          ...messages.map((message) => ({ type: 'message', message })),
          { type: 'state', cursor: messages.length, hash: HASH, items },
        ];
        for (const frame of frames) expect(() => parseServerText(JSON.stringify(frame))).not.toThrow();
      }),
      { numRuns: 200 },
    );
    const oob = parseMessage(SEED_FAVORITES, { uid: 'alice', now: 1_764_000_000_000 });
    expect(() => parseServerFrame({ type: 'message', message: messageToWire(oob) })).not.toThrow();
    const typical = parseMessage(SEED_TYPICAL_CREATE, { uid: 'alice', now: 1_764_000_000_000 });
    if (typical.kind !== 'update') throw new Error('expected an update');
    const item = itemToWire(typical.create[0]!);
    expect(() => parseServerFrame({ type: 'reminder', item_id: 'x', remind_at: 1, item })).not.toThrow();
  });
});

describe('parseServerText', () => {
  it('parses the text of a frame; bad JSON is GREGOR_ERR_BAD_JSON, a bad frame GREGOR_ERR_INVALID_FRAME', () => {
    expect(parseServerText(JSON.stringify(EXAMPLES.synced))).toEqual(EXAMPLES.synced);
    for (const [text, code] of [
      ['{"type":"synced"', 'GREGOR_ERR_BAD_JSON'],
      ['', 'GREGOR_ERR_BAD_JSON'],
      ['{"type":"synced"}', 'GREGOR_ERR_INVALID_FRAME'],
      ['"synced"', 'GREGOR_ERR_INVALID_FRAME'],
    ] as const) {
      expect(() => parseServerText(text)).toThrow(expect.objectContaining({ code }));
    }
  });
});

describe('parseClientFrame', () => {
  it('names `type` with a GregorError for a type that cannot be turned into text', () => {
    expect(() => parseClientFrame({ type: { toString: 1 } })).toThrow(
      expect.objectContaining({ code: 'GREGOR_ERR_INVALID_FRAME', message: expect.stringMatching(/^type:/) }),
    );
  });
});
