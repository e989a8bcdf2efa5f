import { GregorError, isGregorError } from '../../protocol/errors.js';
import { errorCodeOf, type StorageErrorKind } from '../common/errors.js';

/**
 * Turns a failure of SQLite (or of the file system under it) into a GregorError with a stable
 * code, keeping the original as `cause`. GregorErrors pass through unchanged.
 *
 * @example
 *   try { db.exec(sql); } catch (e) { throw toStorageError(e, 'writing messages'); }
 */
export function toStorageError(
  e: unknown,
  doing: string,
  otherwise: StorageErrorKind = 'STORAGE_FAILED',
): GregorError {
  if (isGregorError(e)) return e;
  const code = errorCodeOf(e);
  const detail = e instanceof Error ? e.message : String(e);
  const message = `SQLite storage failed while ${doing}: ${detail}${code ? ` (${code})` : ''}`;
  return new GregorError(kindOf(code, otherwise), message, { cause: e });
}

/** `otherwise`: the kind for an unknown failure (a file that fails to open oddly is unavailable). */
function kindOf(code: string, otherwise: StorageErrorKind): StorageErrorKind {
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'STORAGE_FULL';
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'STORAGE_CONSTRAINT';
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_BUSY') ||
    code.startsWith('SQLITE_LOCKED') ||
    code.startsWith('SQLITE_READONLY') ||
    UNAVAILABLE_FS.has(code)
  ) {
    return 'STORAGE_UNAVAILABLE';
  }
  return otherwise;
}

/** File-system errors met while creating the database's directory. */
const UNAVAILABLE_FS = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EROFS', 'EISDIR', 'ENOENT', 'EEXIST']);
