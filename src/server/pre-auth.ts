/**
 * The budget of sockets that have not authenticated yet. They cost memory and a timer but prove
 * nothing, so they get their own limit, apart from `max-connections` (which counts only
 * authenticated devices): silent sockets can then never keep a real user out. A per-address limit
 * stops one client from taking the whole budget.
 *
 * @example
 *   const budget = new PreAuthBudget(10_000, 32);
 *   const release = budget.take('203.0.113.7'); // null: refused
 *   // … on authentication or close:
 *   release?.();
 */
export class PreAuthBudget {
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(max: number, maxPerAddress: number) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  /**
   * Takes a place for a socket from `address`: a release function (idempotent), or the reason
   * there is no place.
   */
  take(address: string): (() => void) | 'server' | 'address' {
    if (this.#total >= this.#max) return 'server';
    const held = this.#byAddress.get(address) ?? 0;
    if (held >= this.#maxPerAddress) return 'address';
    this.#byAddress.set(address, held + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#byAddress.set(address, left);
      else this.#byAddress.delete(address);
    };
  }
}
