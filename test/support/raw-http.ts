import { connect, type Socket } from 'node:net';

/** What came back on a raw TCP connection before the server closed it. */
export interface RawAnswer {
  readonly status: number | null;
  readonly body: Record<string, unknown> | null;
  readonly text: string;
}

/**
 * Writes raw bytes to the server (no HTTP client in between, so malformed requests reach it as
 * written) and reads until the server closes the connection or `timeoutMs` passes.
 */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    });
    socket.write(data);
  });
}

/** Opens a raw connection that the caller drives (slow senders, silent sockets). */
export function rawSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () =>
      resolve(socket),
    );
    socket.on('error', reject);
  });
}

export function parseAnswer(text: string): RawAnswer {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const start = text.indexOf('\r\n\r\n');
  let body: Record<string, unknown> | null = null;
  if (start >= 0) {
    try {
      body = JSON.parse(text.slice(start + 4)) as Record<string, unknown>;
    } catch {
      body = null;
    }
  }
  return { status: status ? Number(status[1]) : null, body, text };
}

/** An upgrade request to `target` with extra header lines. */
export function upgradeRequest(target: string, headers: readonly string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

/** Sends an upgrade on a raw socket and resolves with the first answer's status line code. */
export function upgradeOn(socket: Socket, target = '/v1/ws'): Promise<number> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(parseAnswer(chunk.toString('latin1')).status ?? 0));
    socket.write(upgradeRequest(target));
  });
}
