import { GregorError, isGregorError } from '../../protocol/errors.js';
import { type Extension, HOOK_NAMES, type HookName } from './types.js';

type Hook<K extends HookName> = NonNullable<Extension[K]>;
type Payload<K extends HookName> = Parameters<Hook<K>>[0];

/** One extension's hook, bound to it, with its name for logs. */
export interface BoundHook<K extends HookName> {
  readonly extension: string;
  readonly call: (payload: Payload<K>) => ReturnType<Hook<K>>;
}

const DEFAULT_PRIORITY = 100;

/** An extension's priority; one that is not a finite number (NaN would break the sort) is the default. */
function priorityOf(e: Extension): number {
  return Number.isFinite(e.priority) ? e.priority! : DEFAULT_PRIORITY;
}

/**
 * The extensions' hooks, sorted once: for each hook name, the extensions that have it, in
 * priority order (higher first, then the order given). Hot paths ask `has()` first, so a hook
 * nobody uses costs nothing.
 *
 * @example
 *   const hooks = new Hooks([broadcaster, audit], (hook, extension, err) => log.error({ err }, hook));
 *   await hooks.refusable('onConnect', payload); // a throw refuses the connection
 *   await hooks.tolerant('onShutdown', payload); // a throw is logged, the rest still run
 */
export class Hooks {
  readonly #byName = new Map<HookName, BoundHook<HookName>[]>();
  readonly #onFailure: (hook: HookName, extension: string, err: unknown) => void;

  /** `onFailure` logs (and counts) a hook that threw where a throw is not a refusal. */
  constructor(
    extensions: readonly Extension[],
    onFailure: (hook: HookName, extension: string, err: unknown) => void,
  ) {
    this.#onFailure = onFailure;
    const names = new Set<string>();
    for (const e of extensions) {
      if (names.has(e.name)) throw new Error(`two extensions are named ${JSON.stringify(e.name)}`);
      names.add(e.name);
    }
    // Array.prototype.sort is stable: equal priorities keep the order given.
    const sorted = [...extensions].sort((a, b) => priorityOf(b) - priorityOf(a));
    for (const e of sorted) {
      for (const name of HOOK_NAMES) {
        // Read by name: an extension written as a class has its hooks on the prototype.
        const fn = (e as unknown as Record<string, unknown>)[name];
        if (typeof fn !== 'function') continue;
        const list = this.#byName.get(name) ?? [];
        list.push({ extension: e.name, call: (fn as (p: unknown) => never).bind(e) });
        this.#byName.set(name, list);
      }
    }
  }

  has(name: HookName): boolean {
    return this.#byName.has(name);
  }

  list<K extends HookName>(name: K): readonly BoundHook<K>[] {
    return (this.#byName.get(name) ?? []) as unknown as BoundHook<K>[];
  }

  /** Runs the hooks in order; the first throw stops the rest and reaches the caller (a refusal). */
  async refusable<K extends HookName>(name: K, payload: Payload<K>): Promise<void> {
    for (const h of this.list(name)) await this.callRefusable(name, h, payload);
  }

  /**
   * Calls one hook where a throw refuses: a GregorError reaches the client as it is; anything
   * else is a bug in the extension, logged and counted, and the client gets GREGOR_ERR_INTERNAL.
   */
  async callRefusable<K extends HookName>(
    name: K,
    h: BoundHook<K>,
    payload: Payload<K>,
  ): Promise<Awaited<ReturnType<Hook<K>>>> {
    try {
      return await h.call(payload);
    } catch (e) {
      if (isGregorError(e)) throw e;
      this.#onFailure(name, h.extension, e);
      throw new GregorError('INTERNAL', `extension ${h.extension} failed; it is logged`);
    }
  }

  /** Runs every hook in order; a throw is logged and the next hook still runs. */
  async tolerant<K extends HookName>(name: K, payload: Payload<K>): Promise<void> {
    for (const h of this.list(name)) {
      try {
        await h.call(payload);
      } catch (e) {
        this.#onFailure(name, h.extension, e);
      }
    }
  }

  /** Runs synchronous hooks (onDeliver): a throw is logged, a returned promise is not awaited. */
  sync<K extends HookName>(name: K, payload: Payload<K>): void {
    for (const h of this.list(name)) {
      try {
        const r = h.call(payload) as unknown;
        if (r instanceof Promise) r.catch((e: unknown) => this.#onFailure(name, h.extension, e));
      } catch (e) {
        this.#onFailure(name, h.extension, e);
      }
    }
  }
}
