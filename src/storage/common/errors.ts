// What both SQL engines' `errors.ts` share: the storage error kinds, and the code a driver error carries.

/** The kinds a storage failure maps to (see the error registry in protocol/errors.ts). */
export type StorageErrorKind =
  | 'STORAGE_FULL'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_CONSTRAINT'
  | 'STORAGE_FAILED';

/**
 * The `code` of a driver or file-system error (`SQLITE_FULL`, `23505`, `ECONNREFUSED`), or ''.
 *
 * @example
 *   errorCodeOf(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' })); // 'SQLITE_BUSY'
 */
export function errorCodeOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return '';
}
