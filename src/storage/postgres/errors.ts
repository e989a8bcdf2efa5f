import { GregorError, isGregorError } from '../../protocol/errors.js';
import { errorCodeOf, type StorageErrorKind } from '../common/errors.js';

/**
 * Turns a failure of PostgreSQL (or of the connection to it) into a GregorError with a stable
 * code, keeping the original as `cause`. GregorErrors (from core rules, or already translated)
 * pass through unchanged.
 *
 * @example
 *   try { await pool.query(sql) } catch (e) { throw toStorageError(e, 'consume') }
 */
export function toStorageError(e: unknown, doing: string): GregorError {
  if (isGregorError(e)) return e;
  const code = errorCodeOf(e);
  const detail = e instanceof Error ? e.message : String(e);
  const message = `PostgreSQL ${doing} failed: ${detail}${code ? ` (${code})` : ''}`;
  return new GregorError(kindOf(code, detail), message, { cause: e });
}

function kindOf(code: string, detail: string): StorageErrorKind {
  if (isUnavailable(code, detail)) return 'STORAGE_UNAVAILABLE';
  if (code.startsWith('53')) return 'STORAGE_FULL';
  if (code.startsWith('23')) return 'STORAGE_CONSTRAINT';
  return 'STORAGE_FAILED';
}

function isUnavailable(code: string, text: string): boolean {
  if (UNAVAILABLE_NODE_CODES.has(code)) return true;
  if (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08')) return true;
  return /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(text);
}

/** Socket errors of a server that cannot be reached (or went away). */
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
