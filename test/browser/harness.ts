import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium; override with GREGOR_TEST_CHROMIUM. Playwright never downloads a browser here. */
export const CHROMIUM = process.env.GREGOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Decides whether browser tests run. No Chromium locally: they are skipped, loudly. Under CI this
 * throws, because a suite that silently skips in CI tests nothing.
 *
 * @example
 *   const hasChromium = await requireChromium('two tabs');
 *   describe.skipIf(!hasChromium)('two tabs', () => { … });
 */
export async function requireChromium(what: string): Promise<boolean> {
  try {
    await access(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    const message = `no Chromium at ${CHROMIUM} (apt-get install chromium): ${what} tests cannot run`;
    if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
    console.error(`\n*** SKIPPING ${what}: ${message} ***\n`);
    return false;
  }
}

export interface PageBundle {
  readonly code: string;
  /** Source files esbuild put in the bundle, relative to the repository. */
  readonly inputs: readonly string[];
}

/** Bundles a page script and the SDK it imports for browsers, as an app's bundler would. */
export async function bundlePage(entry: string): Promise<PageBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the bundle as /page.js and an HTML page that loads it, on 127.0.0.1 (a random port). */
export async function servePage(code: string): Promise<PageServer> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>gregor</title>' +
    '<p id="status">loading</p><ul id="items"></ul><script type="module" src="/page.js"></script>';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(code);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      // 204, not 404, for /favicon.ico: a 404 is a console error, and the test fails on those.
      res.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HeadlessChromium {
  /** One profile: its pages are tabs of one browser, sharing the origin's IndexedDB. */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Debian's Chromium headless, with a fresh profile and nothing that talks to the network. */
export async function launchChromium(): Promise<HeadlessChromium> {
  const profile = await mkdtemp(join(tmpdir(), 'gregor-chromium-'));
  // Playwright refuses `--user-data-dir` in args: a persistent context is how it takes a profile.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 20_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
