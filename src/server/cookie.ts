/**
 * A cookie's value from a `Cookie` header, URL-decoded where it is valid percent-encoding and
 * taken as it is otherwise (a malformed cookie is the token's problem, not a crash).
 *
 * @example
 *   readCookie('a=1; session=x%20y', 'session'); // 'x y'
 */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}
