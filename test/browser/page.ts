/**
 * The page of the browser test, bundled by esbuild: one GregorClient per tab, from the query string
 * (`?url=&token=&device=`), kept in IndexedDB and rendered as `<li data-id>` items. The test drives
 * it through `window.gregor` and reads the DOM.
 */
import { type ClientItem, GregorClient } from '../../src/client/index.js';
import { IndexedDBStorage } from '../../src/client/storage-indexeddb.js';

// The project compiles without the DOM lib; these are the few DOM pieces the page touches.
interface El {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  replaceChildren(...nodes: El[]): void;
}
declare const document: { getElementById(id: string): El | null; createElement(tag: string): El };
declare const location: { search: string };

interface PageState {
  status: string;
  errors: string[];
  /** `created:<id>` and `dismissed:<id>` in the order the client emitted them. */
  events: string[];
}
const w = globalThis as unknown as { gregor: GregorClient; gregorPage: PageState };

const params = new URLSearchParams(location.search);
const url = params.get('url');
const token = params.get('token');
const device = params.get('device');
const page: PageState = { status: 'starting', errors: [], events: [] };
w.gregorPage = page;

if (!url || !token || !device) {
  page.status = 'missing ?url=&token=&device=';
} else {
  const client = new GregorClient({ url, token, device, storage: new IndexedDBStorage() });
  w.gregor = client;
  client.on('change', ({ items }) => render(items));
  client.on('connection', ({ newState }) => {
    page.status = newState;
    const el = document.getElementById('status');
    if (el) el.textContent = newState;
  });
  client.on('created', ({ item }) => page.events.push(`created:${item.id}`));
  client.on('dismissed', ({ id }) => page.events.push(`dismissed:${id}`));
  client.on('error', ({ code, message }) => page.errors.push(`${code}: ${message}`));
  client.ready().then(
    () => render(client.items()),
    (e: unknown) => page.errors.push(`ready: ${String(e)}`),
  );
}

function render(items: readonly ClientItem[]): void {
  const list = document.getElementById('items');
  if (!list) return;
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      li.dataset.id = item.id;
      li.dataset.pending = String(item.pending);
      li.textContent = `${item.category}: ${JSON.stringify(item.body)}`;
      return li;
    }),
  );
}
