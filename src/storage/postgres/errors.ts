import { GregorError } from '../../protocol/errors.js';

const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Translates a driver failure into a GregorError with the original as `cause`. GregorErrors
 * (from core rules, or already translated) pass through unchanged.
 *
 * @example
 *   try { await pool.query(sql) } catch (e) { throw toStorageError(e, 'consume') }
 */
export function toStorageError(e: unknown, what: string): Error {
  if (e instanceof GregorError) return e;
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '';
  const text = e instanceof Error ? e.message : String(e);
  const message = `PostgreSQL ${what} failed: ${text}${code ? ` (${code})` : ''}`;
  if (isUnavailable(code, text)) return new GregorError('STORAGE_UNAVAILABLE', message, { cause: e });
  if (code.startsWith('53')) return new GregorError('STORAGE_FULL', message, { cause: e });
  if (code.startsWith('23')) return new GregorError('STORAGE_CONSTRAINT', message, { cause: e });
  return new GregorError('STORAGE_FAILED', message, { cause: e });
}

function isUnavailable(code: string, text: string): boolean {
  if (UNAVAILABLE_NODE_CODES.has(code)) return true;
  if (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08')) return true;
  return /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(text);
}
