/**
 * An Express app on a plain `node:http` server mounts Gregor: `gregor.handle` answers Gregor's
 * routes and passes the rest on, `gregor.attach` serves the sockets on the same server.
 *
 *   npx tsx examples/express-app.ts            # listens on http://127.0.0.1:3000
 */
import { createServer } from 'node:http';
import express from 'express';
import { createGregor, type Settings } from 'gregor/server';

/** The app, with Gregor's settings (tests pass their own keys; by default a dev secret in ./data). */
export async function buildApp(settings: Settings = {}) {
  const gregor = await createGregor({
    settings: { storage: 'memory', logLevel: 'warn', ...settings },
  });
  const app = express();
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'from express' });
  });
  // Before any body parser: Gregor reads its own bodies; the app's routes keep theirs.
  app.use(gregor.handle);
  app.post('/echo', express.json(), (req, res) => {
    res.json({ echo: req.body });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found by express' });
  });
  const server = createServer(app);
  gregor.attach(server);
  return { server, gregor };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { server, gregor } = await buildApp();
  server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`app and Gregor on http://127.0.0.1:${(server.address() as { port: number }).port}`);
  });
  const stop = () => void gregor.close().then(() => server.close());
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
