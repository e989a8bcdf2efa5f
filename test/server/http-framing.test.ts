import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnswer, rawRequest, rawSocket } from '../support/raw-http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** What the HTTP layer does with requests that are malformed or slow before any route runs. */
describe('the HTTP framing layer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(['--request-timeout-ms', '1s']);
  });
  afterAll(async () => {
    await server.cleanup();
  });

  const post = (headers: string, body = '') =>
    `POST /v1/users/alice/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;

  it('conflicting, negative or unreadable framing gets a coded 400', async () => {
    for (const request of [
      post('Content-Length: 5\r\nContent-Length: 6\r\n', '{}'),
      post('Content-Length: -1\r\n'),
      post('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '{}'),
      'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'NOT-A-METHOD / HTTP/1.1\r\n\r\n',
    ]) {
      const answer = await rawRequest(server.port, request);
      expect(answer.status, request).toBe(400);
      expect(answer.body?.code, request).toBe('GREGOR_ERR_BAD_REQUEST');
    }
  });

  it('a request refused by authentication is answered before its body is read, then closed', async () => {
    const socket = await rawSocket(server.port);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const started = Date.now();
    socket.write(post('Content-Length: 100000\r\n', '{'));
    await closed;
    // Well before the 1 s request timeout: the server did not wait for the body.
    expect(Date.now() - started).toBeLessThan(900);
    const answer = parseAnswer(Buffer.concat(chunks).toString('latin1'));
    expect([answer.status, answer.body?.code]).toEqual([401, 'GREGOR_ERR_AUTH_REQUIRED']);
    expect(answer.text.toLowerCase()).toContain('connection: close');
  });

  it('headers over the size limit get a coded 431', async () => {
    const answer = await rawRequest(
      server.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(answer.body?.code).toBe('GREGOR_ERR_TOO_LARGE');
  });

  it('a body sent a byte at a time is cut off at the request timeout with a coded 408', async () => {
    const socket = await rawSocket(server.port);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // With a token: the body of an authenticated request is read (and timed).
    const token = await server.serviceToken();
    socket.write(post(`Authorization: Bearer ${token}\r\nContent-Length: 100000\r\n`, '{'));
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    const started = Date.now();
    await closed;
    clearInterval(drip);
    // The timeout is 1 s, checked every 250 ms: well within 10 s even on a busy machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    const text = Buffer.concat(chunks).toString();
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toContain('GREGOR_ERR_REQUEST_TIMEOUT');
  });

  it('user IDs of up to 128 characters reach every route', async () => {
    const uid = 'u'.repeat(128);
    const token = await server.serviceToken();
    for (const path of ['state', 'messages', 'devices']) {
      const response = await fetch(`${server.url}/v1/users/${uid}/${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status, path).toBe(200);
    }
    const written = await server.inject(uid, {
      system: 'gregor',
      body: { create: { a: { category: 'c' } } },
    });
    expect(written.status).toBe(200);
    const tooLong = await fetch(`${server.url}/v1/users/${'u'.repeat(129)}/state`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { code: string }).code).toBe('GREGOR_ERR_INVALID_ARGUMENT');
  });

  it('a path with an empty user ID is refused with a coded 400, never a storage failure', async () => {
    const token = await server.serviceToken();
    const r = await fetch(`${server.url}/v1/users//messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ system: 'gregor', body: { create: { a: { category: 'c' } } } }),
    });
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([
      400,
      'GREGOR_ERR_INVALID_ARGUMENT',
    ]);
  });

  it('a target the router cannot decode gets a coded 400', async () => {
    for (const target of ['//%zz', 'http://[/', '/v1/users/%E0%A4%A/state']) {
      const answer = await rawRequest(
        server.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(answer.status, target).toBe(400);
      expect(answer.body?.code, target).toMatch(/^GREGOR_ERR_(BAD_REQUEST|INVALID_ARGUMENT)$/);
    }
  });
});
