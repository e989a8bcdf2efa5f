import fc from 'fast-check';

/**
 * What the fuzz suite sends, as fast-check arbitraries: a grammar that mixes legal and illegal
 * pieces, so inputs reach past the first check (legal JSON with a lone surrogate in a category,
 * a legal message naming `__proto__`), and junk that tests the first check itself.
 */

/** Strings that broke gregord once, or break code like it: encodings, prototypes, controls, sizes. */
const NASTY = [
  '',
  '%',
  '%zz',
  '%E0%A4%A',
  '%00',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ud83d\ude00',
  '\u2028',
  '\ufffd',
  '\u001b[31m',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'resync',
  '#resync',
  '../..',
  '\r\nX-Injected: 1',
  'u'.repeat(128),
  'u'.repeat(129),
  'é',
  ' ',
];

export const nasty = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

/** IDs: mostly legal (so messages get through), sometimes not. */
const legalId = fc.constantFrom('a', 'b', 'c', 'x.y', 'k:1', 'z~9', '__proto__', 'constructor', 'toString');
const anyId = fc.oneof({ weight: 4, arbitrary: legalId }, { weight: 1, arbitrary: nasty });

/** Numbers at the edges of what JSON and JavaScript can hold. */
const edgeNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 53 + 1, -(2 ** 53) - 1, 1e21, 1e308, -1e308, 5e-324, 1700000000),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const time = fc.oneof(
  edgeNumber,
  fc.constantFrom('+1h', '-1h', '+0s', '2026-12-01T00:00:00Z', '2026-13-45T99:00:00Z', 'now', '+1e9d', '+'),
  nasty,
);

/** JSON bodies with nasty keys and values, nested. */
const body = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    edgeNumber,
    nasty,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const item = fc.record(
  {
    category: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('c', 'd') }, { weight: 1, arbitrary: nasty }),
    body,
    times: fc.record(
      { created: time, expires: time, remind_at: fc.array(time, { maxLength: 3 }) },
      { requiredKeys: [] },
    ),
    for_device: fc.oneof(fc.constant('watcher'), anyId),
  },
  { requiredKeys: ['category'] },
);

const dismiss = fc.record(
  {
    ids: fc.array(anyId, { maxLength: 4 }),
    intervals: fc.array(
      fc.record(
        { category: fc.oneof(fc.constantFrom('c', 'd'), nasty), begin: time, end: time },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    for_device: anyId,
  },
  { requiredKeys: [] },
);

/** Strings that are legal everywhere a body allows text, and still awkward for code. */
const awkward = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    '\u2028',
    '\ufffd',
    '\ud83d\ude00',
    'a\u0000b',
    'é',
    '',
    '%zz',
  ),
  fc.string({ maxLength: 20 }),
);

/** Bodies a client may legally send, with awkward keys and values. */
const legalBody = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.constantFrom(0, -1, 1.5, 2 ** 53 + 1, 1e308, 5e-324),
    awkward,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(awkward, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const legalItem = fc.record(
  {
    category: fc.constantFrom('c', 'd', 'c.é', 'x y'),
    body: legalBody,
    times: fc.record(
      {
        expires: fc.constantFrom('+1h', '+1d', 4102444800),
        remind_at: fc.array(fc.constantFrom('-1h', '+1s', '+1h'), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    for_device: fc.constantFrom('watcher', 'fuzzer', 'other'),
  },
  { requiredKeys: ['category'] },
);

const legalDismiss = fc.record(
  {
    ids: fc.array(legalId, { minLength: 1, maxLength: 3 }),
    intervals: fc.array(
      fc.record({
        category: fc.constantFrom('c', 'd'),
        begin: fc.constantFrom('-1h', '-1d'),
        end: fc.constantFrom('-1s', '+0s'),
      }),
      { maxLength: 2 },
    ),
    for_device: fc.constantFrom('watcher', 'fuzzer'),
  },
  { requiredKeys: ['ids'] },
);

/** A message: often legal (so it is stored and must converge), sometimes subtly not, or junk. */
export const message = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        id: legalId,
        system: fc.constant('gregor'),
        body: fc.oneof(
          fc.record({ create: fc.dictionary(legalId, legalItem, { minKeys: 1, maxKeys: 3 }) }),
          fc.record({ dismiss: legalDismiss }),
          fc.record({
            create: fc.dictionary(legalId, legalItem, { minKeys: 1, maxKeys: 2 }),
            dismiss: legalDismiss,
          }),
        ),
      },
      { requiredKeys: ['system', 'body'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        system: fc.constant('gregor'),
        body: fc.record(
          { create: fc.dictionary(anyId, item, { minKeys: 1, maxKeys: 3 }), dismiss },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['system', 'body'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ system: fc.constantFrom('gregor', 'kbfs.favorites', '', 'a b'), body }),
  },
  { weight: 1, arbitrary: fc.constant({ system: 'gregor', body: { flush: true } }) },
  {
    weight: 1,
    arbitrary: fc.record({ id: anyId, ctime: time, system: nasty, body, extra: body }, { requiredKeys: [] }),
  },
  { weight: 1, arbitrary: fc.anything() },
);

/** What a device's socket sends: frames as text or bytes. */
export type FrameInput =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array }
  | { readonly kind: 'invalid-utf8'; readonly bytes: Uint8Array }
  | { readonly kind: 'oversized' };

const deep = fc
  .integer({ min: 10, max: 5000 })
  .chain((n) => fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));

export const frame: fc.Arbitrary<FrameInput> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ ref: fc.oneof(fc.constant('r'), nasty), message }).map(({ ref, message }) => ({
      kind: 'text' as const,
      text: JSON.stringify({ type: 'consume', ref, message }),
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        type: fc.constantFrom('sync', 'ping', 'auth', 'consume', 'nope', '__proto__'),
        cursor: body,
        hash: body,
        ref: body,
        token: body,
      })
      .map((f) => ({ kind: 'text' as const, text: JSON.stringify(f) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 200 }),
        deep,
        fc.constantFrom(
          '{"type":"sync","cursor":1e400}',
          '{"type":"ping","ref":"\\ud800"}',
          '{"type":"consume","message":{"system":"gregor","body":{"create":{"__proto__":{"category":"c"}}}}}',
          '{"__proto__":{"type":"ping"}}',
          '{"type":"ping","type":"sync"}',
          'null',
          '[]',
          '"\\u0000"',
        ),
      )
      .map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x7b, 0x80, 0x7d])
      .map((b) => ({ kind: 'invalid-utf8' as const, bytes: Uint8Array.from(b) })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'oversized' as const }) },
);

/** An upgrade request: its target and extra header lines (as raw text, so anything goes). */
export interface UpgradeInput {
  readonly target: string;
  readonly headers: readonly string[];
}

const target = fc.oneof(
  fc.constantFrom(
    'http://[/',
    'http://[::1',
    '//%zz',
    '*',
    '/v1/ws?%',
    '/v1/ws?device=%zz&uid=%',
    '/notify/ws?topic=%',
    'http://x/v1/ws',
    '/v1/ws#x',
    '/v1/ws?device=' + 'd'.repeat(300),
    '/healthz',
    '/',
  ),
  fc
    .record({ path: fc.constantFrom('/v1/ws', '/notify/ws', '/v1/wss', '/v1/ws/'), q: nasty })
    .map(({ path, q }) => `${path}?device=${q}&uid=${q}`),
  fc.string({ maxLength: 60 }),
);

const header = fc.oneof(
  nasty.map((v) => `Cookie: session=${v}`),
  fc.constantFrom(
    'Cookie: session=%',
    'Cookie: =; ;session',
    'Cookie: session="%zz"',
    'Cookie: other=%; session=%%',
  ),
  nasty.map((v) => `Authorization: Bearer ${v}`),
  fc.constantFrom('Authorization: Bearer a.b.c', 'Authorization: Basic Zm9vOmJhcg==', 'Authorization:'),
  nasty.map((v) => `Origin: ${v}`),
  fc.constantFrom('Origin: http://app.test', 'Origin: null'),
  fc.constantFrom(
    'Sec-WebSocket-Version: 7',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: short',
    'Sec-WebSocket-Protocol: a, , b',
    'Upgrade: h2c',
    'Content-Length: 5',
    'Transfer-Encoding: chunked',
    'Host:',
  ),
  fc
    .record({ name: fc.string({ maxLength: 12 }), value: nasty })
    .map(({ name, value }) => `${name}: ${value}`),
);

export const upgrade: fc.Arbitrary<UpgradeInput> = fc.record({
  target,
  headers: fc.array(header, { maxLength: 4 }),
});

/** An HTTP request to the API: a method, a path, headers and a body, sent as written. */
export interface HttpInput {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | null;
  readonly auth: 'service' | 'user' | 'junk' | 'none';
  readonly body: string | null;
}

const uid = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('f1', 'f2', 'f3') },
  { weight: 1, arbitrary: nasty },
);

export const http: fc.Arbitrary<HttpInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      method: fc.constant('POST'),
      path: uid.map((u) => `/v1/users/${encodePath(u)}/messages`),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        null,
        'application/x-www-form-urlencoded',
      ),
      auth: fc.constantFrom('service', 'service', 'service', 'service', 'user', 'junk', 'none'),
      body: fc.oneof(
        message.map((m) => JSON.stringify(m) ?? 'null'),
        fc.string({ maxLength: 100 }),
        deep,
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constantFrom('GET', 'DELETE', 'PUT', 'OPTIONS'),
      path: fc
        .record({
          u: uid,
          route: fc.constantFrom('state', 'messages', 'devices', 'flush', 'nope'),
          key: fc.constantFrom('at', 'device', 'after', 'since', 'limit'),
          v: fc.oneof(
            fc.constantFrom('-1h', 'watcher', '0', '10', '2026-01-01T00:00:00Z'),
            nasty,
            time.map(String),
          ),
        })
        .map(({ u, route, key, v }) => `/v1/users/${encodePath(u)}/${route}?${key}=${encodePath(v)}`),
      contentType: fc.constant(null),
      auth: fc.constantFrom('service', 'service', 'user', 'junk', 'none'),
      body: fc.constant(null),
    }),
  },
);

/** Percent-encodes any string's UTF-8 bytes (encodeURIComponent throws on a lone surrogate). */
function encodePath(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}
