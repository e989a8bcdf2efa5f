/**
 * Fan-out across nodes: deliveries/s and inject→device latency with each user's devices split
 * over two gregord processes (fan-out through Redis), next to the same load on one process, in
 * one run. Both on one PostgreSQL database and a private redis-server.
 *
 *   npx tsx bench/fleet.ts [--smoke]
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { makeToken } from '../src/cli/tokens.js';
import { type NodeProcess, startNode, startRedis } from '../test/fleet/processes.js';
import { createTempDatabase } from '../test/support/postgres.js';
import { SERVICE_SECRET, USER_SECRET } from '../test/support/server.js';
import { type Figure, percentile, printFigures, SMOKE } from './report.js';

const USERS = SMOKE ? 10 : 100;
const DEVICES = 4;
const MESSAGES = SMOKE ? 300 : 6000;
const IN_FLIGHT = 64;

interface Sink {
  deliveries: number;
  latencies: number[];
}

async function openDevice(ws: string, uid: string, device: string, sink: Sink): Promise<WebSocket> {
  const token = await makeToken({ secret: USER_SECRET, uid, device, ttlSeconds: 3600 });
  const socket = new WebSocket(`${ws}?device=${device}`, { headers: { authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"type":"hello"')) socket.send('{"type":"sync"}');
      else if (text.startsWith('{"type":"state"')) resolve();
      else if (text.startsWith('{"type":"message"')) {
        const sent = /"sent":([0-9.]+)/.exec(text);
        sink.deliveries++;
        if (sent) sink.latencies.push(performance.now() - Number(sent[1]));
      }
    });
    socket.once('error', reject);
  });
  return socket;
}

/** Devices of every user; `nodes[k]` gets devices k, k+n, … of each user. */
async function connectAll(nodes: NodeProcess[], tag: string, sink: Sink): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let d = 0; d < DEVICES; d++)
      sockets.push(await openDevice(nodes[d % nodes.length]!.ws, `${tag}${u}`, `d${d}`, sink));
  }
  return sockets;
}

async function run(nodes: NodeProcess[], tag: string): Promise<{ rate: number; p50: number; p99: number }> {
  const sink: Sink = { deliveries: 0, latencies: [] };
  const sockets = await connectAll(nodes, tag, sink);
  const token = await makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 3600 });
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < MESSAGES) {
      const i = next++;
      const node = nodes[i % nodes.length]!;
      const body = JSON.stringify({
        system: 'gregor',
        body: { create: { [`m${i}`]: { category: 'bench', body: { sent: performance.now() } } } },
      });
      await fetch(`${node.url}/v1/users/${tag}${i % USERS}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const expected = MESSAGES * DEVICES;
  const deadline = Date.now() + 30_000;
  while (sink.deliveries < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.terminate();
  if (sink.deliveries < expected)
    console.error(`${tag}: only ${sink.deliveries} of ${expected} deliveries arrived`);
  return {
    rate: sink.deliveries / seconds,
    p50: percentile(sink.latencies, 50),
    p99: percentile(sink.latencies, 99),
  };
}

const db = await createTempDatabase('gregor_fleet_bench_');
const redis = await startRedis(17_380 + Math.floor(Math.random() * 1000));
const prefix = `bench-${randomBytes(3).toString('hex')}:`;
const common = [
  '--storage',
  'postgres',
  '--postgres-url',
  db.url,
  '--redis-url',
  redis.url,
  '--redis-prefix',
  prefix,
  '--rate-limit-per-second',
  '100000',
  '--rate-limit-burst',
  '100000',
  // Every bench device connects from loopback: one address may authenticate many at once.
  '--max-pending-auth-per-address',
  '100000',
];
const nodes = await Promise.all([1, 2].map((n) => startNode([...common, '--node-id', `bench${n}`])));
try {
  await run([nodes[0]!], 'warm');
  const one = await run([nodes[0]!], 'one');
  const two = await run(nodes, 'two');
  const baseline = (value: number) => ({ name: 'one node', value });
  const figures: Figure[] = [
    {
      name: `deliveries/s, ${USERS * DEVICES} devices, 2 nodes via Redis`,
      value: two.rate,
      unit: '/s',
      baseline: baseline(one.rate),
    },
    { name: 'inject→device latency p50, 2 nodes', value: two.p50, unit: 'ms', baseline: baseline(one.p50) },
    { name: 'inject→device latency p99, 2 nodes', value: two.p99, unit: 'ms', baseline: baseline(one.p99) },
  ];
  printFigures(
    `bench/fleet — PostgreSQL + Redis, ${IN_FLIGHT} injects in flight, half of each user's devices on each node${SMOKE ? ' (smoke)' : ''}`,
    figures,
  );
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await redis.stop();
  await db.drop();
}
