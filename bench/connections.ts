/**
 * Memory per idle authenticated connection: gregord (SQLite) in a child process, RSS (VmRSS) and
 * V8 heap before and after N devices connect, authenticate and sync (N/10 users × 10 devices);
 * per connection = (after − before) / N. Baseline in the same run: a bare `ws` server
 * (bench/lib/bare-server.ts) with N idle connections, measured the same way. The connections are
 * held by separate processes, at most 15,000 each, from source addresses 127.0.x.y never reused in the run.
 *
 *   npx tsx bench/connections.ts [--smoke] [--count N]
 */
import { makeToken, signingSecrets } from '../src/cli/tokens.js';
import type { HoldOrder } from './lib/conn-holder.js';
import type { DeviceTarget } from './lib/devices.js';
import { openFileLimit, rssBytes, sleep } from './lib/proc.js';
import { type Child, startChild } from './lib/spawn.js';
import { type Figure, printFigures, SMOKE } from './report.js';

const countFlag = process.argv.indexOf('--count');
const COUNT = countFlag > 0 ? Number(process.argv[countFlag + 1]) : SMOKE ? 500 : 10_000;
const DEVICES_PER_USER = 10;
const PER_HOLDER = 15_000;
/** Connections per source address: binding port 0 gets slow as an address's ports fill up. */
const PER_ADDRESS = 2_500;
const WARMUP = 200;
/**
 * Each holder gets source addresses never used before in the run: a closed connection leaves its
 * port in TIME_WAIT, and binding port 0 on an address full of those is slow.
 */
let nextAddress = 0;
function freshAddresses(connections: number): string[] {
  return Array.from({ length: Math.ceil(connections / PER_ADDRESS) }, () => {
    const n = 2 + nextAddress++;
    if (n > 255 * 254) throw new Error('out of 127.0.x.y source addresses');
    return `127.0.${Math.floor(n / 254)}.${1 + (n % 254)}`;
  });
}

interface Memory {
  rss: number;
  heap: number;
}

/** RSS from /proc after two full GCs in the child, and its V8 heap. */
async function measure(server: Child): Promise<Memory> {
  await sleep(1000);
  const m = await server.request({ type: 'gc' }, 'memory');
  return { rss: rssBytes(server.pid), heap: m.heapUsed };
}

/** Opens `count` connections through holders; resolves with the holders (stop them to close). */
async function hold(
  kind: DeviceTarget['kind'],
  port: number,
  count: number,
  tokens: Map<string, string>,
): Promise<Child[]> {
  const holders: Child[] = [];
  const users = Array.from({ length: Math.ceil(count / DEVICES_PER_USER) }, (_, i) => `u${i}`);
  const usersPerHolder = PER_HOLDER / DEVICES_PER_USER;
  const orders: HoldOrder[] = [];
  for (let h = 0; h * usersPerHolder < users.length; h++) {
    const mine = users.slice(h * usersPerHolder, (h + 1) * usersPerHolder);
    orders.push({
      type: 'go',
      kind,
      port,
      users: mine,
      devicesPerUser: DEVICES_PER_USER,
      tokens: kind === 'gregord' ? mine.map((u) => [u, tokens.get(u)!] as const) : [],
      localAddresses: freshAddresses(mine.length * DEVICES_PER_USER),
    });
  }
  try {
    for (let h = 0; h < orders.length; h++)
      holders.push(await startChild(`holder${h}`, 'conn-holder.ts', []));
    const done = await Promise.all(holders.map((h, i) => h.request(orders[i]!, 'done')));
    const opened = done.reduce((a, d) => a + Number(d.opened), 0);
    const ms = Math.max(...done.map((d) => Number(d.ms)));
    console.log(`  ${kind}: ${opened} connections open in ${(ms / 1000).toFixed(1)} s`);
    return holders;
  } catch (e) {
    await Promise.all(holders.map((h) => h.stop()));
    throw e;
  }
}

/** Per-connection memory of one server: warm up, measure, open `COUNT`, measure, close. */
async function perConnection(kind: DeviceTarget['kind']): Promise<Memory> {
  const server =
    kind === 'gregord'
      ? await startChild('gregord', 'gregord-child.ts', [])
      : await startChild('bare', 'bare-server.ts', []);
  try {
    const tokens = new Map<string, string>();
    if (kind === 'gregord') {
      const secrets = await signingSecrets({}, String(server.info.dataDir));
      for (let u = 0; u < Math.ceil(COUNT / DEVICES_PER_USER); u++) {
        tokens.set(`u${u}`, await makeToken({ secret: secrets.user, uid: `u${u}`, ttlSeconds: 3600 }));
      }
    }
    // Warm-up: JIT code and pools that the first connections allocate are not per-connection costs.
    for (const h of await hold(kind, server.port, WARMUP, tokens)) await h.stop();
    const before = await measure(server);
    const holders = await hold(kind, server.port, COUNT, tokens);
    const after = await measure(server);
    await Promise.all(holders.map((h) => h.stop()));
    return { rss: (after.rss - before.rss) / COUNT, heap: (after.heap - before.heap) / COUNT };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  // The server and each holder keep one descriptor per connection (holders at most PER_HOLDER).
  const limit = openFileLimit();
  if (COUNT + 200 > limit) {
    console.error(
      `--count ${COUNT} needs more open files than the limit here (ulimit -n = ${limit}): ` +
        'the server holds one descriptor per connection. Raise it (ulimit -n 65536; the hard ' +
        'limit needs root/CAP_SYS_RESOURCE) or lower --count.',
    );
    process.exitCode = 2;
    return;
  }
  console.log(
    `connections: ${COUNT} idle devices (${COUNT / DEVICES_PER_USER} users × ${DEVICES_PER_USER}), ` +
      'figures from a shared 2-core machine',
  );
  const gregord = await perConnection('gregord');
  const bare = await perConnection('bare');
  const kb = (bytes: number) => bytes / 1024;
  const figures: Figure[] = [
    {
      name: `RSS per idle connection at ${COUNT}`,
      value: kb(gregord.rss),
      unit: 'KB',
      baseline: { name: 'bare ws', value: kb(bare.rss) },
      target: '≤ 15 KB (design ≈ 10 KB, 1.2× bare)',
    },
    {
      name: `V8 heap per idle connection at ${COUNT}`,
      value: kb(gregord.heap),
      unit: 'KB',
      baseline: { name: 'bare ws', value: kb(bare.heap) },
    },
  ];
  printFigures(`Idle connections (${COUNT}, authenticated and synced; shared 2-core machine)`, figures);
}

await main();
