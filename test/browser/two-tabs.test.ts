import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, GregorClient } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  bundlePage,
  type HeadlessChromium,
  launchChromium,
  type PageBundle,
  type PageServer,
  requireChromium,
  servePage,
} from './harness.js';

/** What test/browser/page.ts puts on `window`. */
type PageWindow = {
  gregor: GregorClient;
  gregorPage: { status: string; errors: string[]; events: string[] };
};
const EMPTY_HASH = '6db65fd59fd356f6729140571b5bcd6bb3b83492a16e1bf0a3884442fc3c8a0e';

const hasChromium = await requireChromium('browser SDK (two tabs)');

describe.skipIf(!hasChromium)('the SDK in Chromium: two tabs, two devices of one user', () => {
  let bundle: PageBundle;
  let pageServer: PageServer;
  let server: TestServer;
  let serverStopped = false;
  let chrome: HeadlessChromium;
  /** Uncaught errors and console errors of every tab, shown when an assertion fails. */
  const problems: string[] = [];

  beforeAll(async () => {
    bundle = await bundlePage('test/browser/page.ts');
    [pageServer, server, chrome] = await Promise.all([
      servePage(bundle.code),
      startTestServer(),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await chrome?.close();
    await pageServer?.close();
    if (!serverStopped) await server?.cleanup();
  });

  async function openTab(uid: string, device: string): Promise<Page> {
    const page = await chrome.context.newPage();
    page.on('pageerror', (e) => problems.push(`[${device}] ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`[${device}] console: ${m.text()}`);
    });
    const query = new URLSearchParams({ url: server.ws, token: await server.userToken(uid, device), device });
    await page.goto(`${pageServer.url}?${query}`);
    await page.waitForFunction(
      () => (globalThis as unknown as Partial<PageWindow>).gregor !== undefined,
      null,
      {
        timeout: 5_000,
      },
    );
    await page.evaluate(() => (globalThis as unknown as PageWindow).gregor.ready());
    return page;
  }

  const item = (page: Page, id: string) => page.locator(`#items li[data-id="${id}"]`);
  const gone = (page: Page, id: string) => item(page, id).waitFor({ state: 'detached', timeout: 10_000 });
  const create = (page: Page, id: string) =>
    page.evaluate(
      (id) =>
        (globalThis as unknown as PageWindow).gregor.create(id, { category: 'greeting', body: { text: id } }),
      id,
    );
  const dismiss = (page: Page, id: string) =>
    page.evaluate((id) => (globalThis as unknown as PageWindow).gregor.dismiss(id), id);
  const seen = (page: Page) =>
    page.evaluate(() => {
      const { gregor, gregorPage } = globalThis as unknown as PageWindow;
      return { ...gregorPage, connection: gregor.connection, items: gregor.items(), hash: gregor.hash() };
    });

  /** On failure, prints what each tab saw: the SDK's errors and events are the best clue. */
  async function explained(tabs: Page[], run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      console.error(`browser problems:\n${problems.join('\n')}`);
      for (const tab of tabs) {
        const device = new URL(tab.url()).searchParams.get('device');
        console.error(`${device} sees ${JSON.stringify(await seen(tab))}`);
      }
      throw e;
    }
  }

  it('bundles the browser SHA-256 (#sha256 resolves to its `default` condition)', () => {
    expect(bundle.inputs).toContain('src/platform/sha256-web.ts');
    expect(bundle.inputs).not.toContain('src/platform/sha256-node.ts');
    expect(
      bundle.inputs.filter((f) => f.startsWith('src/server/') || f.startsWith('node_modules/ws/')),
    ).toEqual([]);
    expect(bundle.code).not.toMatch(/["']node:/);
  });

  it('an item created in tab 1 appears in tab 2; dismissed in tab 2, it leaves both', async () => {
    const [tab1, tab2] = await Promise.all([openTab('alice', 'tab-1'), openTab('alice', 'tab-2')]);
    await explained([tab1, tab2], async () => {
      const ack: Ack = await create(tab1, 'welcome');
      expect(ack).toMatchObject({ status: 'stored', seq: expect.any(Number) });

      await item(tab2, 'welcome').waitFor({ timeout: 10_000 });
      await expect(item(tab2, 'welcome').textContent()).resolves.toBe('greeting: {"text":"welcome"}');
      // Tab 1 rendered it too (optimistically first), and its own echo cleared `pending`.
      await tab1.locator('#items li[data-id="welcome"][data-pending="false"]').waitFor({ timeout: 10_000 });

      expect((await dismiss(tab2, 'welcome')).status).toBe('stored');
      await Promise.all([gone(tab1, 'welcome'), gone(tab2, 'welcome')]);

      // Both replicas converged to the server's state, and no item flickered on its way.
      expect([(await seen(tab1)).hash, (await seen(tab2)).hash]).toEqual([EMPTY_HASH, EMPTY_HASH]);
      for (const tab of [tab1, tab2]) {
        expect(await seen(tab)).toMatchObject({
          errors: [],
          events: ['created:welcome', 'dismissed:welcome'],
        });
      }
      expect(problems).toEqual([]);
    }).finally(() => Promise.all([tab1.close(), tab2.close()]));
  }, 30_000);

  // Last: it stops the server.
  it('a tab reloaded while the server is down shows its last state from IndexedDB', async () => {
    const [tab1, tab2] = await Promise.all([openTab('bob', 'bob-1'), openTab('bob', 'bob-2')]);
    await explained([tab1, tab2], async () => {
      await Promise.all([create(tab1, 'keep'), create(tab1, 'gone')]);
      await item(tab2, 'gone').waitFor({ timeout: 10_000 });
      await dismiss(tab2, 'gone');
      await Promise.all([gone(tab1, 'gone'), gone(tab2, 'gone')]);
      // close() waits for the last save to IndexedDB.
      await tab2.evaluate(() => (globalThis as unknown as PageWindow).gregor.close());

      await server.cleanup();
      serverStopped = true;
      await tab2.reload();
      await item(tab2, 'keep').waitFor({ state: 'attached', timeout: 10_000 });
      expect(await item(tab2, 'gone').count()).toBe(0);
      const after = await seen(tab2);
      expect(after.connection).not.toBe('connected');
      expect(after.items.map((i) => i.id)).toEqual(['keep']);
    }).finally(() => Promise.all([tab1.close(), tab2.close()]));
  }, 30_000);
});
