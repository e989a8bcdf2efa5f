/** JSON values as they travel on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Canonical JSON: object keys sorted, no whitespace. Equal values give equal text on every
 * platform, which the state hash and derived message IDs rely on.
 */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as Json)}`).join(',')}}`;
}

/**
 * Sets an own, enumerable property whatever the key. Plain assignment of `__proto__` would set
 * the object's prototype instead, and JSON.stringify would then drop the entry: every object keyed
 * by client data (item IDs, body keys) is built with this.
 *
 * @example
 *   const blob: { [id: string]: Json } = {};
 *   setOwn(blob, '__proto__', 1); // JSON.stringify(blob) === '{"__proto__":1}'
 */
export function setOwn<V>(object: { [key: string]: V }, key: string, value: V): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else object[key] = value;
}
