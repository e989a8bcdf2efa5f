import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, GregorError } from '../../src/protocol/errors.js';
import { parseMessage } from '../../src/protocol/validate.js';
import { connectDevice, type TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const CODES = new Set<string>(Object.values(ERROR_CODES).map((e) => e.code));

beforeAll(async () => {
  server = await startTestServer([
    '--rate-limit-per-second',
    '100000',
    '--rate-limit-burst',
    '100000',
    '--max-message-bytes',
    '65536',
  ]);
  await server.inject('fuzz', {
    system: 'gregor',
    body: { create: { keep: { category: 'c', body: 'kept' } } },
  });
});
afterAll(async () => {
  await server.cleanup();
});

/** Inputs that are not a valid message: every one must be refused. */
function isInvalid(value: unknown): boolean {
  try {
    parseMessage(value, { uid: 'fuzz', now: Date.now() });
    return false;
  } catch (e) {
    return e instanceof GregorError;
  }
}

const junkJson = fc
  .oneof(
    fc.anything(),
    fc.record({ system: fc.constantFrom('gregor', '', 'x y'), body: fc.anything() }, { requiredKeys: [] }),
    fc.record({
      system: fc.constant('gregor'),
      body: fc.record(
        { create: fc.dictionary(fc.string(), fc.anything()), dismiss: fc.anything(), flush: fc.anything() },
        { requiredKeys: [] },
      ),
    }),
  )
  .filter(isInvalid);

const junkText = fc.oneof(
  junkJson.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('{', '[]', 'null', '"x"', '{"system":"gregor"', '\u0000', '{"__proto__":{"x":1}}'),
);

async function stateHash(): Promise<string> {
  const r = await fetch(`${server.url}/v1/users/fuzz/state`, {
    headers: { authorization: `Bearer ${await server.serviceToken()}` },
  });
  return ((await r.json()) as { hash: string }).hash;
}

describe('fuzzed input never crashes the server, always gets a coded error, and changes no state', () => {
  it('HTTP bodies: random bytes, random JSON, huge sizes', async () => {
    const before = await stateHash();
    const token = await server.serviceToken();
    await fc.assert(
      fc.asyncProperty(junkText, async (body) => {
        const r = await fetch(`${server.url}/v1/users/fuzz/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        const answer = (await r.json()) as { code: string };
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect(CODES.has(answer.code)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const huge = await fetch(`${server.url}/v1/users/fuzz/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        system: 'gregor',
        body: { create: { a: { category: 'c', body: 'x'.repeat(200_000) } } },
      }),
    });
    expect([huge.status, ((await huge.json()) as { code: string }).code]).toEqual([
      413,
      'GREGOR_ERR_TOO_LARGE',
    ]);
    const wrongType = await fetch(`${server.url}/v1/users/fuzz/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(((await wrongType.json()) as { code: string }).code).toBe('GREGOR_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await stateHash()).toBe(before);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('WebSocket frames: random frames and random messages in consume frames', async () => {
    const before = await stateHash();
    const { device } = await connectDevice(server.ws, await server.userToken('fuzz'), 'fuzzer');
    let ref = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          junkText,
          junkJson.map((message) => JSON.stringify({ type: 'consume', ref: 'x', message })),
          fc.anything().map((v) => JSON.stringify({ type: 'sync', cursor: v })),
        ),
        async (text) => {
          ref++;
          device.send(text);
          device.send({ type: 'ping', ref: `p${ref}` });
          const pong = await device.next((f) => f.type === 'pong' && f.ref === `p${ref}`);
          expect(pong).toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
    const errors = device.all('error');
    expect(errors.length).toBeGreaterThan(250);
    for (const e of errors) expect(CODES.has(e.code as string)).toBe(true);
    expect(device.all('ack')).toEqual([]);
    await expectOpen(device);
    expect(await stateHash()).toBe(before);
  });

  it('a frame over the size limit closes only that socket (1009), nothing else', async () => {
    const { device } = await connectDevice(server.ws, await server.userToken('fuzz'), 'big');
    const other = await connectDevice(server.ws, await server.userToken('fuzz'), 'other');
    device.send({
      type: 'consume',
      message: { system: 'gregor', body: { create: { a: { category: 'c', body: 'x'.repeat(70_000) } } } },
    });
    expect((await device.closed).code).toBe(1009);
    await expectOpen(other.device);
    await other.device.close();
  });
});

async function expectOpen(device: TestDevice): Promise<void> {
  device.send({ type: 'ping', ref: 'alive' });
  expect(await device.next((f) => f.type === 'pong' && f.ref === 'alive')).toBeDefined();
}
