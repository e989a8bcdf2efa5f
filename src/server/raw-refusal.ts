import type { Duplex } from 'node:stream';

/**
 * Answers on a raw socket that no HTTP response object owns (an upgrade refused, a request the
 * HTTP parser could not read) with a coded JSON body, then closes it.
 */
export function writeRefusal(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
