import type { Ack } from './types.js';

/**
 * The promises of changes waiting for the server's acknowledgement, by message ID. Several
 * callers may wait on one ID (a change sent again with the same `id`): all settle together.
 *
 * @example
 *   const acks = new Acks(); const done = acks.wait('m1'); acks.resolve('m1', ack);
 */
export class Acks {
  readonly #waiting = new Map<string, { resolve: (a: Ack) => void; reject: (e: Error) => void }[]>();

  wait(id: string): Promise<Ack> {
    return new Promise<Ack>((resolve, reject) => {
      this.#waiting.set(id, [...(this.#waiting.get(id) ?? []), { resolve, reject }]);
    });
  }

  resolve(id: string, ack: Ack): void {
    for (const w of this.#waiting.get(id) ?? []) w.resolve(ack);
    this.#waiting.delete(id);
  }

  reject(id: string, error: Error): void {
    for (const w of this.#waiting.get(id) ?? []) w.reject(error);
    this.#waiting.delete(id);
  }

  rejectAll(error: Error): void {
    for (const id of [...this.#waiting.keys()]) this.reject(id, error);
  }
}
