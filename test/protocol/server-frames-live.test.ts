import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseServerText, type ServerFrame } from '../../src/protocol/frames.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['--reminder-interval-ms', '50ms']);
});
afterAll(async () => {
  await server.cleanup();
});

/** Every frame text any socket of this file received, in order: each must pass parseServerText. */
const received: string[] = [];

type Of<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** A raw `ws` device (no SDK, no test helper): keeps every frame's text, and waits for one of a type. */
class RawDevice {
  readonly socket: WebSocket;
  readonly #frames: ServerFrame[] = [];
  readonly #taken = new Set<ServerFrame>();
  #wake: (() => void) | null = null;

  constructor(device: string, token?: string) {
    this.socket = new WebSocket(`${server.ws}?device=${device}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    this.socket.on('message', (data) => {
      const text = data.toString();
      received.push(text);
      try {
        this.#frames.push(parseServerText(text));
      } catch {
        // Reported by the check over every frame received.
      }
      this.#wake?.();
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame of `type` not taken yet, waiting for it if needed. */
  async next<T extends ServerFrame['type']>(type: T, timeoutMs = 5000): Promise<Of<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#frames.find((f) => f.type === type && !this.#taken.has(f));
      if (frame) {
        this.#taken.add(frame);
        return frame as Of<T>;
      }
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  static async connect(device: string, uid = 'live'): Promise<RawDevice> {
    const d = new RawDevice(device, await server.userToken(uid, device));
    await d.next('hello');
    return d;
  }
}

describe('every frame gregord sends passes parseServerFrame', () => {
  it('over a scenario that earns every type: hello, state, messages, synced, message, ack, error, pong, reminder', async () => {
    const a = await RawDevice.connect('a');
    a.send({ type: 'sync' });
    const empty = await a.next('state');
    expect(empty.items).toEqual({});

    const create = {
      id: 'm1',
      system: 'gregor',
      body: {
        create: { r1: { category: 'test', body: { n: 1 }, times: { remind_at: ['+1s'], expires: '+1h' } } },
      },
    };
    a.send({ type: 'consume', ref: 'c1', message: create });
    expect(await a.next('ack')).toMatchObject({ ref: 'c1', status: 'stored', seq: 1 });
    expect((await a.next('message')).message).toMatchObject({ id: 'm1', seq: 1 });
    a.send({ type: 'consume', ref: 'c2', message: create });
    expect(await a.next('ack')).toMatchObject({ ref: 'c2', status: 'duplicate', seq: 1 });
    a.send({
      type: 'consume',
      ref: 'c3',
      message: { system: 'kbfs.favorites', body: { tlf: '/private/a' } },
    });
    expect(await a.next('ack')).toMatchObject({ ref: 'c3', status: 'relayed', seq: null });
    expect((await a.next('message')).message).not.toHaveProperty('seq');
    a.send({
      type: 'consume',
      ref: 'c4',
      message: { system: 'gregor', body: { dismiss: { intervals: [{ category: 'none', end: '+0s' }] } } },
    });
    expect(await a.next('ack')).toMatchObject({ ref: 'c4', status: 'stored' });
    a.send({ type: 'consume', ref: 'c5', message: { system: 'gregor', body: {} } });
    expect(await a.next('error')).toMatchObject({ ref: 'c5', code: 'GREGOR_ERR_INVALID_MESSAGE' });
    a.send('not json');
    expect(await a.next('error')).not.toHaveProperty('ref');
    a.send({ type: 'ping', ref: 'p1' });
    expect(await a.next('pong')).toMatchObject({ ref: 'p1' });
    a.send({ type: 'ping' });
    await a.next('pong');

    // A device that saw nothing: the messages it missed, then (its hash now the server's) synced.
    const b = await RawDevice.connect('b');
    b.send({ type: 'sync', cursor: 0, hash: empty.hash });
    const missed = await b.next('messages');
    expect(missed.messages.map((m) => m.seq)).toEqual([1, 2]);
    b.send({ type: 'sync', cursor: missed.cursor, hash: missed.hash });
    expect(await b.next('synced')).toMatchObject({ cursor: missed.cursor });

    // The full state with an item, and after a flush the state with `flush`.
    const c = await RawDevice.connect('c');
    c.send({ type: 'sync' });
    expect(Object.keys((await c.next('state')).items)).toEqual(['r1']);
    a.send({ type: 'consume', ref: 'c6', message: { system: 'gregor', body: { flush: true } } });
    await a.next('ack');
    b.send({ type: 'sync', cursor: missed.cursor, hash: missed.hash });
    expect(await b.next('state')).toMatchObject({ flush: true });

    const reminder = await a.next('reminder', 5000);
    expect(reminder).toMatchObject({ item_id: 'r1', item: { category: 'test' } });

    // A refused token: an error frame before the close.
    const stranger = new RawDevice('d');
    await new Promise((resolve) => stranger.socket.once('open', resolve));
    stranger.send({ type: 'auth', token: 'e30.e30.e30' });
    expect(await stranger.next('error')).toMatchObject({ code: 'GREGOR_ERR_AUTH_INVALID' });

    for (const d of [a, b, c, stranger]) d.socket.close();
    for (const text of received) expect(() => parseServerText(text), text).not.toThrow();
    const types = new Set(received.map((text) => parseServerText(text).type));
    expect([...types].sort()).toEqual(
      ['ack', 'error', 'hello', 'message', 'messages', 'pong', 'reminder', 'state', 'synced'].sort(),
    );
  });
});
