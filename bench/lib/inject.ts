import { Agent, request } from 'node:http';

/**
 * HTTP injects over keep-alive connections (no fetch: undici's per-request cost would make the
 * load generator, not the server, the bottleneck).
 *
 * @example
 *   const injector = new Injector(port, { authorization: `Bearer ${serviceToken}` });
 *   await injector.post('/v1/users/u1/messages', '{"system":"gregor","body":{}}');
 *   injector.close();
 */
export class Injector {
  readonly #port: number;
  readonly #headers: Record<string, string>;
  readonly #agent: Agent;

  constructor(port: number, headers: Record<string, string> = {}, maxSockets = 256) {
    this.#port = port;
    this.#headers = { 'content-type': 'application/json', ...headers };
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * POSTs `body`; rejects unless the answer is 2xx. A request written on a kept-alive socket that
   * the server closed at that very moment (its idle timeout) fails with ECONNRESET before the
   * server read it: that one is retried, as Node's documentation advises (`reusedSocket`).
   */
  async post(path: string, body: string): Promise<void> {
    try {
      await this.#post(path, body);
    } catch (e) {
      if (!(e as { reusedSocket?: boolean }).reusedSocket) throw e;
      await this.#post(path, body);
    }
  }

  #post(path: string, body: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#port,
          path,
          method: 'POST',
          agent: this.#agent,
          headers: { ...this.#headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else
              reject(new Error(`POST ${path}: ${status} ${Buffer.concat(chunks).toString().slice(0, 200)}`));
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        const retriable = req.reusedSocket && e.code === 'ECONNRESET';
        reject(Object.assign(e, { reusedSocket: retriable }));
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Runs `send(i)` for i in [0, count) with at most `concurrency` in flight (closed loop: the
 * fastest the server answers).
 *
 * @example
 *   await closedLoop(10_000, 64, (i) => injector.post(`/v1/users/u${i % 100}/messages`, body(i)));
 */
export async function closedLoop(
  count: number,
  concurrency: number,
  send: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Runs `send(i)` at a fixed `perSecond` for `seconds` (open loop: a slow answer does not slow the
 * arrivals, so queueing shows up as latency), then waits for every answer.
 *
 * @example
 *   await fixedRate(1000, 10, (i) => injector.post(`/v1/users/u${i % 100}/messages`, body(i)));
 */
export async function fixedRate(
  perSecond: number,
  seconds: number,
  send: (i: number) => Promise<void>,
): Promise<void> {
  const total = Math.round(perSecond * seconds);
  const pending: Promise<void>[] = [];
  // The first failure, kept until every send is sent: a rejection must not go unhandled meanwhile.
  let failure: unknown = null;
  const guarded = (i: number) =>
    send(i).catch((e: unknown) => {
      failure ??= e;
    });
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      // Sends what is due by now: a late timer catches up instead of lowering the rate.
      const due = Math.min(total, Math.floor(((performance.now() - t0) * perSecond) / 1000) + 1);
      while (sent < due) pending.push(guarded(sent++));
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  if (failure !== null) throw failure;
}

/**
 * The message every server under test gets, so all of them carry the same payload. Built just
 * before the request, so `sent` is the send time; item IDs never repeat across phases
 * (re-creating an existing item is not delivered).
 *
 * @example
 *   injector.post(`/v1/users/u${i % users}/messages`, benchPayload(item++, i));
 */
export function benchPayload(item: number, i: number): string {
  return `{"system":"gregor","body":{"create":{"b${item}":{"category":"bench","body":{"n":${i},"sent":${performance.now()}}}}}}`;
}
