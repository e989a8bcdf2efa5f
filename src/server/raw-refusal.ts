import type { Duplex } from 'node:stream';

/** A refused socket whose answer cannot be flushed (a peer that does not read) is cut after this. */
const FLUSH_MS = 5000;

/**
 * Answers on a raw socket that no HTTP response object owns (an upgrade refused, a request the
 * HTTP parser could not read) with a coded JSON body, then closes it. Closes, not half-closes: the
 * server allows half-open sockets and no timeout applies to an upgrade, so a client that kept its
 * side open would otherwise hold the socket (and its pre-auth place) for good.
 */
export function writeRefusal(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  socket.once('finish', () => socket.destroy());
  setTimeout(() => socket.destroy(), FLUSH_MS).unref();
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
