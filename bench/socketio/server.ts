/**
 * The Socket.IO comparison: the same job as the bare baseline (bench/lib/bare-server.ts), done
 * the way a Socket.IO application would do it across several nodes. `POST /v1/users/:uid/messages`
 * INSERTs the body into PostgreSQL (one INSERT per message, pg Pool) and only then emits it with
 * `io.to('user:<uid>').emit('message', body)` through `@socket.io/redis-adapter` (Redis at
 * 127.0.0.1:6379, a key prefix unique to this process, so every broadcast is also published to
 * Redis as it would be with more than one node). Devices connect with socket.io-client over the
 * websocket transport with `?uid=<uid>&device=<id>` and are joined to `user:<uid>`.
 *
 *   forked by startChild('socketio', '../socketio/server.ts', [databaseUrl])
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server } from 'socket.io';
import { serveChild } from '../lib/child.js';

serveChild(async () => {
  const databaseUrl = process.argv[2];
  if (!databaseUrl) throw new Error('usage: server.ts <postgres url>');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 16 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS messages (id bigserial PRIMARY KEY, uid text NOT NULL, body jsonb NOT NULL, ' +
      'created_at timestamptz NOT NULL DEFAULT now())',
  );
  const key = `gregor-bench-sio-${randomBytes(6).toString('hex')}`;
  const pub = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);

  const http = createServer((req, res) => {
    const m = /^\/v1\/users\/([^/]+)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) {
      res.writeHead(404).end();
      return;
    }
    const uid = decodeURIComponent(m[1]!);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      // Durable first (the row is committed), then the fan-out.
      pool.query('INSERT INTO messages (uid, body) VALUES ($1, $2)', [uid, body]).then(
        () => {
          io.to(`user:${uid}`).emit('message', body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(String(e)));
        },
      );
    });
  });
  // Same per-socket settings as gregord's gateway and the bare baseline (Socket.IO's own default).
  const io = new Server(http, {
    transports: ['websocket'],
    perMessageDeflate: false,
    adapter: createAdapter(pub, sub, { key }),
  });
  io.use((socket, next) => {
    const uid = socket.handshake.query.uid;
    if (typeof uid !== 'string' || uid === '') {
      next(new Error('uid required'));
      return;
    }
    // In the middleware, so the device is in its room before its client sees `connect`.
    void socket.join(`user:${uid}`);
    next();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    info: { redisKey: key },
    stop: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await pool.end();
      pub.disconnect();
      sub.disconnect();
    },
  };
});
