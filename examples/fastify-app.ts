/**
 * An app that already has its own Fastify routes mounts Gregor beside them.
 *
 *   npx tsx examples/fastify-app.ts            # listens on http://127.0.0.1:3000
 *
 * Its own route: GET /hello. Gregor's: /v1/users/:uid/…, the sockets at /v1/ws, /openapi.json.
 * The extension counts what reached nobody: a real app would queue an e-mail there.
 */
import Fastify from 'fastify';
import { createGregor, type Extension, type Settings } from 'gregor/server';

/** The app, with Gregor's settings (tests pass their own keys; by default a dev secret in ./data). */
export async function buildApp(settings: Settings = {}) {
  const undelivered: string[] = [];
  const offline: Extension = {
    name: 'offline-inbox',
    onUndelivered({ message }) {
      undelivered.push(message.md.msgId);
    },
  };
  const gregor = await createGregor({
    settings: { storage: 'memory', logLevel: 'warn', ...settings },
    extensions: [offline],
  });
  const app = Fastify();
  app.get('/hello', async () => ({ hello: 'from the app' }));
  await app.register(gregor.plugin);
  return { app, gregor, undelivered };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { app } = await buildApp();
  const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
  console.log(`app and Gregor on ${url}`);
  process.once('SIGTERM', () => void app.close());
  process.once('SIGINT', () => void app.close());
}
