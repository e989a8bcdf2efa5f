import { GregorError } from '../../protocol/errors.js';
import { id } from '../../protocol/validate.js';

/**
 * An ID from a path or a query (user, device), or null when absent or empty. Refused with
 * GREGOR_ERR_INVALID_ARGUMENT naming the argument, as over WebSocket.
 *
 * @example
 *   optionalId(request.query.device, 'device'); // 'laptop', or null
 */
export function optionalId(value: string | undefined, name: string): string | null {
  if (value === undefined || value === '') return null;
  try {
    return id(value, name);
  } catch (e) {
    throw new GregorError('INVALID_ARGUMENT', (e as Error).message);
  }
}

/**
 * A whole number from a query (a cursor, a page size): digits only, at most 15 of them.
 *
 * @example
 *   whole(request.query.after ?? '0', 'after'); // 42
 */
export function whole(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw new GregorError('INVALID_ARGUMENT', `${name}: expected a whole number`);
  return Number(value);
}
