import { connect } from 'node:net';
import WebSocket from 'ws';
import { makeToken } from '../../src/cli/tokens.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { parseServerText, type ServerFrame } from '../../src/protocol/frames.js';
import { parseAnswer, type RawAnswer, upgradeRequest } from '../support/raw-http.js';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';
import type { FrameInput, HttpInput, UpgradeInput } from './inputs.js';

/** Every code the server may send; anything else in a refusal is a finding. */
export const CODES = new Set<string>(Object.values(ERROR_CODES).map((e) => e.code));
/** Codes that mean the server failed, not the input: a fuzz input must never cause them. */
export const FAILURES = new Set([
  'GREGOR_ERR_INTERNAL',
  'GREGOR_ERR_STORAGE_FAILED',
  'GREGOR_ERR_STORAGE_CONSTRAINT',
]);
/** Close codes a frame may earn its socket (the socket, not the server, is at fault). */
const FRAME_CLOSES = new Set([1002, 1007, 1009]);

/** What the suite found: each entry is one input the server mishandled, with what it did. */
export class Findings {
  readonly list: string[] = [];
  add(what: string, input: unknown): void {
    if (this.list.length < 20) this.list.push(`${what}: ${JSON.stringify(input)?.slice(0, 300)}`);
  }
  /** A coded refusal, or a finding. */
  checkRefusal(code: unknown, input: unknown): void {
    if (typeof code !== 'string' || !CODES.has(code)) this.add(`uncoded refusal (${String(code)})`, input);
    else if (FAILURES.has(code)) this.add(`server failure ${code}`, input);
  }
}

/**
 * Sends a raw request and reads the answer: until the server closes the socket, or, for a 101
 * (an accepted upgrade), until the status line and headers are in.
 */
export function raw(port: number, text: string, timeoutMs = 15_000): Promise<RawAnswer | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(data));
    });
    socket.write(Buffer.from(text, 'utf8'));
  });
}

/** An upgrade request, as raw text. */
export function upgradeText(input: UpgradeInput): string {
  return upgradeRequest(input.target, input.headers);
}

/** The same pieces as a plain POST with a small body: the HTTP parser's side of the fuzz. */
export function postText(input: UpgradeInput): string {
  const body = '{"system":"gregor","body":{"create":{"a":{"category":"c"}}}}';
  return [
    `POST ${input.target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    // The answer ends the exchange: the suite reads until the server closes.
    'Connection: close',
    ...input.headers,
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

/** Checks what the server answered to a raw request. */
export function checkRaw(answer: RawAnswer | 'timeout', input: unknown, findings: Findings): void {
  if (answer === 'timeout') findings.add('no answer and no close', input);
  // Node closes without an answer only when the socket itself broke: never for a request it read.
  else if (answer.status === null) findings.add('closed without an answer', input);
  else if (answer.status >= 500 && answer.status !== 503) findings.add(`status ${answer.status}`, input);
  else if (answer.status >= 400) findings.checkRefusal(answer.body?.code, input);
}

/** Sends one API request as a backend (or an impostor) would. */
export async function sendHttp(url: string, input: HttpInput, findings: Findings): Promise<boolean> {
  const headers: Record<string, string> = {};
  if (input.contentType) headers['content-type'] = input.contentType;
  if (input.auth === 'service') headers.authorization = `Bearer ${await serviceToken()}`;
  if (input.auth === 'user') headers.authorization = `Bearer ${await userToken('f1', 'fuzzer')}`;
  if (input.auth === 'junk') headers.authorization = 'Bearer e30.e30.e30';
  const response = await fetch(`${url}${input.path}`, {
    method: input.method,
    headers,
    ...(input.body === null ? {} : { body: input.body }),
  });
  const text = await response.text();
  if (response.status >= 500) findings.add(`status ${response.status} ${text.slice(0, 120)}`, input);
  if (response.status >= 400) {
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    findings.checkRefusal(code, input);
  }
  return response.ok;
}

export const userToken = (uid: string, device: string) =>
  makeToken({ secret: USER_SECRET, uid, device, ttlSeconds: 3600 });
export const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 3600 });

/** A frame from the server that parseServerFrame refused: a finding. */
type Unreadable = { readonly type: 'unreadable'; readonly why: string };

/** A server frame as the SDK would read it, or why it could not. */
function readFrame(text: string): ServerFrame | Unreadable {
  try {
    return parseServerText(text);
  } catch (e) {
    return { type: 'unreadable', why: `${(e as Error).message} in ${text.slice(0, 120)}` };
  }
}

/**
 * One fuzzing device of a user: sends a frame, then a ping, and waits for the pong (or for the
 * close the frame earned). Every frame the server sends must pass parseServerFrame and every error
 * frame must be coded; a close must be one a frame may earn, and then the device connects again.
 */
export class FuzzDevice {
  readonly #ws: string;
  readonly #uid: string;
  readonly #maxBytes: number;
  #socket: WebSocket | null = null;
  #frames: (ServerFrame | Unreadable)[] = [];
  #waiter: ((f: ServerFrame | Unreadable | { closed: number }) => void) | null = null;
  #ref = 0;
  acked = 0;

  constructor(ws: string, uid: string, maxBytes: number) {
    this.#ws = ws;
    this.#uid = uid;
    this.#maxBytes = maxBytes;
  }

  async #connect(): Promise<WebSocket> {
    const socket = new WebSocket(`${this.#ws}?device=fuzzer`, {
      headers: { authorization: `Bearer ${await userToken(this.#uid, 'fuzzer')}` },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (data) => {
        const frame = readFrame(data.toString());
        if (frame.type === 'hello') {
          socket.send(JSON.stringify({ type: 'sync' }));
          resolve();
        }
        this.#frames.push(frame);
        this.#waiter?.(frame);
      });
    });
    socket.on('close', (code) => {
      if (this.#socket === socket) this.#socket = null;
      this.#waiter?.({ closed: code });
    });
    this.#socket = socket;
    return socket;
  }

  async send(input: FrameInput, findings: Findings): Promise<void> {
    const socket = this.#socket ?? (await this.#connect());
    this.#frames = [];
    const ref = `p${++this.#ref}`;
    const outcome = new Promise<{ closed: number } | null>((resolve) => {
      const timer = setTimeout(() => resolve({ closed: -1 }), 15_000);
      this.#waiter = (f) => {
        if ('closed' in f || (f.type === 'pong' && f.ref === ref)) {
          clearTimeout(timer);
          this.#waiter = null;
          resolve('closed' in f ? { closed: f.closed } : null);
        }
      };
    });
    if (input.kind === 'text') socket.send(input.text);
    else if (input.kind === 'binary') socket.send(input.bytes, { binary: true });
    else if (input.kind === 'invalid-utf8') socket.send(Buffer.from(input.bytes), { binary: false });
    else socket.send('x'.repeat(this.#maxBytes + 1));
    socket.send(JSON.stringify({ type: 'ping', ref }));
    const end = await outcome;
    for (const f of this.#frames) {
      if (f.type === 'unreadable') findings.add(`a frame the SDK cannot read: ${f.why}`, input);
      if (f.type === 'error') findings.checkRefusal(f.code, input);
      if (f.type === 'ack') this.acked++;
    }
    if (end === null) return;
    if (end.closed === -1) findings.add('no pong and no close within 15 s', input);
    else if (!FRAME_CLOSES.has(end.closed)) findings.add(`closed with ${end.closed}`, input);
    this.#socket?.terminate();
    this.#socket = null;
  }

  close(): void {
    this.#socket?.close(1000);
  }
}
