/**
 * The baseline: a bare `ws` broadcast server with gregord's HTTP and WebSocket shape but no
 * storage, no auth, no validation. `POST /v1/users/:uid/messages` sends the body, wrapped as a
 * `message` frame, to every socket that connected with `/v1/ws?uid=<uid>&device=<id>`, then
 * answers 200. Run in its own process by startChild('bare', 'bare-server.ts', []).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { serveChild } from './child.js';

serveChild(async () => {
  const users = new Map<string, Set<WebSocket>>();
  // Same settings as gregord's gateway, so the baseline pays the same per-socket costs.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const http = createServer((req, res) => {
    const m = /^\/v1\/users\/([^/]+)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = `{"type":"message","message":${Buffer.concat(chunks).toString()}}`;
      for (const ws of users.get(decodeURIComponent(m[1]!)) ?? []) ws.send(text);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
  });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const uid = url.searchParams.get('uid') ?? '';
    wss.handleUpgrade(req, socket, head, (ws) => {
      const set = users.get(uid) ?? new Set<WebSocket>();
      users.set(uid, set);
      set.add(ws);
      ws.on('error', () => ws.terminate());
      ws.on('close', () => set.delete(ws));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    stop: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
});
