/**
 * Reconnect bytes: what a device receives to catch up after missing k messages, against gregord
 * (SQLite) in a child process, over raw `ws` sockets in this process (not the SDK).
 *
 * Per k, with a fresh user that already holds `seed` items:
 * 1. "phone" connects, syncs (gets `state`), remembers its cursor and hash, disconnects;
 * 2. "laptop" connects and stays live: the bytes of the k `message` frames it receives are the
 *    baseline (what any push server must send at least for these messages);
 * 3. k messages are injected over HTTP (service token), bench payload;
 * 4. "phone" reconnects with its cursor and hash: bytes from the open to the end of the sync
 *    answer, hello included;
 * 5. it reconnects again with the new cursor and hash (nothing missed): hello + `synced`;
 * 6. for context, it connects without a cursor: hello + the full `state`.
 *
 * Bytes are WebSocket payload bytes of the frames received (per-message deflate is off on both
 * sides, so that is what goes on the wire, minus 2–10 bytes of frame header per frame and the
 * HTTP upgrade answer; the TCP bytes read, which include those, are kept in the details).
 *
 *   npx tsx bench/suite/reconnect.ts [--smoke]
 */
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { makeToken, signingSecrets } from '../../src/cli/tokens.js';
import { parseServerText } from '../../src/protocol/frames.js';
import { benchPayload, closedLoop, Injector } from '../lib/inject.js';
import { type Child, startChild } from '../lib/spawn.js';
import { type Figure, formatValue, printFigures } from '../report.js';
import { progress } from './progress.js';
import type { SectionOptions, SectionResult } from './section.js';

/** The design target (design.md, "Targets"). */
const RATIO_TARGET = 1.2;
const SYNCED_TARGET_BYTES = 200;
const TIMEOUT_MS = 30_000;

interface Frame {
  readonly type: string;
  readonly bytes: number;
  readonly text: string;
}

/** The sync answer a device got, and what it took to get there. */
interface Attach {
  readonly answer: 'synced' | 'messages' | 'state';
  /** Payload bytes of every frame from the open to the sync answer, both included. */
  readonly bytes: number;
  readonly frames: number;
  /** Each frame's type and payload bytes, in order. */
  readonly breakdown: readonly { type: string; bytes: number }[];
  /** TCP bytes read by then: the HTTP 101 answer, frame headers and payloads. */
  readonly socketBytesRead: number;
  readonly cursor: number;
  readonly hash: string;
  /** Messages in a `messages` answer, items in a `state` answer. */
  readonly entries: number;
}

/** A raw device socket that records every frame it receives. */
class Device {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  #socket: Socket | null = null;
  #wake: (() => void) | null = null;
  #closed: string | null = null;

  constructor(port: number, token: string, device: string) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?device=${device}`, {
      perMessageDeflate: false,
      headers: { authorization: `Bearer ${token}` },
    });
    this.ws.on('upgrade', (res) => {
      this.#socket = res.socket as Socket;
    });
    this.ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const type = /"type":"(\w+)"/.exec(text)?.[1] ?? '?';
      this.frames.push({ type, bytes: data.length, text });
      this.#wake?.();
    });
    this.ws.on('error', (e) => {
      this.#closed ??= `error: ${e.message}`;
      this.#wake?.();
    });
    this.ws.on('close', (code, reason) => {
      this.#closed ??= `closed (${code} ${reason})`;
      this.#wake?.();
    });
  }

  /** Resolves once `done()` holds, checked after every frame; rejects on close or timeout. */
  until(what: string, done: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${what}: nothing after ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      const finish = (e?: Error) => {
        clearTimeout(timer);
        this.#wake = null;
        if (e) reject(e);
        else resolve();
      };
      this.#wake = () => {
        const error = this.frames.find((f) => f.type === 'error');
        if (error) finish(new Error(`${what}: ${error.text}`));
        else if (done()) finish();
        else if (this.#closed) finish(new Error(`${what}: ${this.#closed}`));
      };
      this.#wake();
    });
  }

  /** Waits for hello, sends `sync` (with cursor and hash if given), waits for the answer. */
  async attach(request: { cursor?: number; hash?: string }): Promise<Attach> {
    const answerIndex = () => this.frames.findIndex((f) => /^(synced|messages|state)$/.test(f.type));
    await this.until('hello', () => this.frames.length > 0);
    if (this.frames[0]!.type !== 'hello') throw new Error(`expected hello, got ${this.frames[0]!.text}`);
    this.ws.send(JSON.stringify({ type: 'sync', ...request }));
    await this.until('sync answer', () => answerIndex() >= 0);
    const socketBytesRead = this.#socket?.bytesRead ?? Number.NaN;
    const upTo = this.frames.slice(0, answerIndex() + 1);
    const answer = parseServerText(upTo.at(-1)!.text);
    if (answer.type !== 'synced' && answer.type !== 'messages' && answer.type !== 'state')
      throw new Error(`expected a sync answer, got ${answer.type}`);
    return {
      answer: answer.type,
      bytes: upTo.reduce((sum, f) => sum + f.bytes, 0),
      frames: upTo.length,
      breakdown: upTo.map(({ type, bytes }) => ({ type, bytes })),
      socketBytesRead,
      cursor: answer.cursor,
      // `synced` repeats no hash: the device's own is the server's.
      hash: answer.type === 'synced' ? (request.hash ?? '') : answer.hash,
      entries:
        answer.type === 'messages'
          ? answer.messages.length
          : answer.type === 'state'
            ? Object.keys(answer.items).length
            : 0,
    };
  }

  /** Closes and waits for the server's close, so the next connection of this device replaces nothing. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), 5_000);
    await closed;
    clearTimeout(timer);
  }
}

/** One k: the figures' raw numbers. */
interface Round {
  readonly k: number;
  readonly uid: string;
  readonly seedItems: number;
  /** The k `message` frames on the live "laptop". */
  readonly live: { bytes: number; frames: number };
  readonly first: Attach;
  readonly afterMissing: Attach;
  readonly nothingMissed: Attach;
  readonly fullState: Attach;
}

/**
 * Runs the reconnect section: k = 10, 100 and 1,000 (smoke: 20), each on its own user holding
 * `seed` items, against one gregord child.
 *
 * @example
 *   const result = await runReconnect({ smoke: true });
 *   printFigures(result.title, result.figures);
 */
export async function runReconnect(o: SectionOptions): Promise<SectionResult> {
  const ks = o.smoke ? [20] : [10, 100, 1000];
  const seed = o.smoke ? 10 : 100;
  const p = progress('reconnect');
  p.update('starting gregord');
  const child = await startChild('gregord', 'gregord-child.ts', []);
  const devices = new Set<Device>();
  let injector: Injector | null = null;
  try {
    const secrets = await signingSecrets({}, String(child.info.dataDir));
    const service = await makeToken({ secret: secrets.service, service: true, ttlSeconds: 3600 });
    injector = new Injector(child.port, { authorization: `Bearer ${service}` });
    const rounds: Round[] = [];
    for (const k of ks) {
      rounds.push(await round(child, injector, secrets.user, devices, k, seed, p));
    }
    p.done(
      rounds
        .map((r) => `k=${r.k}: ${formatValue(r.afterMissing.bytes)} B vs ${formatValue(r.live.bytes)} B live`)
        .join('; '),
    );
    return result(o, rounds, seed);
  } finally {
    for (const d of devices) d.ws.terminate();
    injector?.close();
    await child.stop();
  }
}

async function round(
  child: Child,
  injector: Injector,
  userSecret: string,
  devices: Set<Device>,
  k: number,
  seed: number,
  p: ReturnType<typeof progress>,
): Promise<Round> {
  const uid = `user-k${k}`;
  const token = await makeToken({ secret: userSecret, uid, ttlSeconds: 3600 });
  const open = (name: string) => {
    const d = new Device(child.port, token, name);
    devices.add(d);
    return d;
  };
  const done = async (d: Device) => {
    await d.close();
    devices.delete(d);
  };
  let item = 0;
  const inject = (count: number) =>
    closedLoop(count, 16, (i) => injector.post(`/v1/users/${uid}/messages`, benchPayload(item++, i)));

  p.update(`k=${k}: seeding ${seed} items`);
  await inject(seed);

  // The phone syncs, keeps its cursor and hash, and goes offline.
  const phone = open('phone');
  const first = await phone.attach({});
  await done(phone);

  // The laptop stays live through the k messages.
  const laptop = open('laptop');
  const laptopAttach = await laptop.attach({});
  const liveFrom = laptopAttach.frames;
  p.update(`k=${k}: injecting ${k} messages`);
  await inject(k);
  await laptop.until(`laptop: ${k} live messages`, () => laptop.frames.length - liveFrom >= k);
  const liveFrames = laptop.frames.slice(liveFrom);
  if (liveFrames.some((f) => f.type !== 'message')) {
    throw new Error(`laptop: unexpected live frames ${liveFrames.map((f) => f.type).join(',')}`);
  }
  const live = { bytes: liveFrames.reduce((sum, f) => sum + f.bytes, 0), frames: liveFrames.length };
  await done(laptop);

  p.update(`k=${k}: phone reconnects`);
  const again = open('phone');
  const afterMissing = await again.attach({ cursor: first.cursor, hash: first.hash });
  await done(again);
  if (afterMissing.cursor !== first.cursor + k) {
    throw new Error(`phone: cursor ${afterMissing.cursor} after missing ${k} from ${first.cursor}`);
  }
  if (afterMissing.answer === 'messages' && afterMissing.entries !== k) {
    throw new Error(`phone: ${afterMissing.entries} messages in the answer, ${k} missed`);
  }

  const third = open('phone');
  const nothingMissed = await third.attach({ cursor: afterMissing.cursor, hash: afterMissing.hash });
  await done(third);

  const fourth = open('phone');
  const fullState = await fourth.attach({});
  await done(fourth);
  if (fullState.entries !== seed + k) {
    throw new Error(`phone: ${fullState.entries} items in the full state, expected ${seed + k}`);
  }
  return { k, uid, seedItems: seed, live, first, afterMissing, nothingMissed, fullState };
}

function result(o: SectionOptions, rounds: readonly Round[], seed: number): SectionResult {
  const figures: Figure[] = [];
  for (const r of rounds) {
    figures.push({
      name: `reconnect after missing ${r.k} messages (${r.afterMissing.answer})`,
      value: r.afterMissing.bytes,
      unit: 'B',
      baseline: { name: `the ${r.k} messages live`, value: r.live.bytes },
      target: `≤ ${RATIO_TARGET}× the k messages`,
      met: r.afterMissing.bytes <= RATIO_TARGET * r.live.bytes,
    });
    figures.push({
      name: `full-state resync, no cursor (${seed + r.k} items)`,
      value: r.fullState.bytes,
      unit: 'B',
      baseline: { name: `reconnect with cursor, k=${r.k}`, value: r.afterMissing.bytes },
    });
  }
  // The nothing-missed answer barely depends on k: the largest one is the figure.
  const worst = rounds.reduce((a, b) => (b.nothingMissed.bytes > a.nothingMissed.bytes ? b : a));
  figures.push({
    name: `reconnect with nothing missed (${worst.nothingMissed.answer})`,
    value: worst.nothingMissed.bytes,
    unit: 'B',
    target: `≤ ${SYNCED_TARGET_BYTES} bytes`,
    met: worst.nothingMissed.bytes <= SYNCED_TARGET_BYTES,
  });
  return {
    title: `Reconnect: bytes a device receives (WebSocket payload, hello included), user with ${seed} items, gregord (SQLite)${o.smoke ? ' (smoke)' : ''}`,
    figures,
    details: {
      bytes:
        'WebSocket payload bytes of frames received; socketBytesRead adds the HTTP 101 answer and frame headers',
      payload: 'bench/lib/inject.ts benchPayload',
      ks: rounds.map((r) => r.k),
      seedItems: seed,
      rounds: rounds.map((r) => ({
        k: r.k,
        uid: r.uid,
        live: r.live,
        firstSync: summary(r.first),
        afterMissing: summary(r.afterMissing),
        nothingMissed: summary(r.nothingMissed),
        fullState: summary(r.fullState),
      })),
    },
  };
}

const summary = (a: Attach) => ({
  answer: a.answer,
  bytes: a.bytes,
  frames: a.frames,
  breakdown: a.breakdown,
  socketBytesRead: a.socketBytesRead,
  cursor: a.cursor,
  entries: a.entries,
});

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runReconnect({ smoke: process.argv.includes('--smoke') });
  printFigures(result.title, result.figures);
}
