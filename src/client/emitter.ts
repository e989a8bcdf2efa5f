/**
 * A tiny typed event emitter (no dependencies, works in browsers and Node).
 *
 * @example
 *   const e = new Emitter<{ ping: { n: number } }>();
 *   const off = e.on('ping', ({ n }) => console.log(n));
 *   e.emit('ping', { n: 1 }); off();
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, fn: (payload: Events[E]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(fn as (payload: never) => void);
    return () => set.delete(fn as (payload: never) => void);
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const fn of this.#handlers.get(event) ?? []) {
      try {
        (fn as (p: Events[E]) => void)(payload);
      } catch (e) {
        // A listener's bug must not break the client's state machine.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
