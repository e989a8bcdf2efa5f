/**
 * The suite's idle-memory section: memory per idle connection for gregord (authenticated with a
 * user token and synced), the bare `ws` baseline and the Socket.IO + redis-adapter server (joined
 * to its user's room), one server at a time, by idleMemory (bench/lib/idle.ts): warm-up, two GCs,
 * VmRSS and V8 heap before and after N connections held by separate processes; per connection =
 * (after − before) / N. N = 10,000 (smoke: 500), fewer if the open-file limit does not allow it.
 *
 *   npx tsx bench/suite/memory.ts [--smoke]
 */
import { pathToFileURL } from 'node:url';
import {
  connectionsPerProcess,
  DEVICES_PER_USER,
  type IdleKind,
  type IdleMemory,
  idleMemory,
  SERVER_NAMES,
  WARMUP,
} from '../lib/idle.js';
import { openFileLimit } from '../lib/proc.js';
import { type Figure, printFigures, SMOKE } from '../report.js';
import { progress } from './progress.js';
import type { SectionOptions, SectionResult } from './section.js';

const KINDS: readonly IdleKind[] = ['gregord', 'bare', 'socketio'];
/** The design target: gregord's RSS per idle connection at most this times bare ws's. */
const TARGET_RATIO = 1.2;

const kb = (bytes: number) => bytes / 1024;
const thousands = (n: number) => n.toLocaleString('en-US');

/**
 * Measures memory per idle connection for the three servers and returns the section's figures.
 * `count` overrides N (bench/connections.ts --count).
 *
 * @example
 *   const r = await runIdleMemory({ smoke: true });
 *   printFigures(r.title, r.figures);
 */
export async function runIdleMemory(o: SectionOptions & { readonly count?: number }): Promise<SectionResult> {
  const requested = o.count ?? (o.smoke ? 500 : 10_000);
  // The server keeps one descriptor per connection: N must fit under its open-file limit.
  const fits = Math.floor(connectionsPerProcess() / DEVICES_PER_USER) * DEVICES_PER_USER;
  const count = Math.min(Math.ceil(requested / DEVICES_PER_USER) * DEVICES_PER_USER, fits);
  const results = {} as Record<IdleKind, IdleMemory>;
  for (const kind of KINDS) {
    const p = progress(`idle memory, ${SERVER_NAMES[kind]}, ${thousands(count)} connections`);
    const r = await idleMemory(kind, count, (text) => p.update(text));
    p.done(
      `${kb(r.perConnection.rss).toFixed(2)} KB RSS, ${kb(r.perConnection.heap).toFixed(2)} KB heap per ` +
        `connection; opened in ${(r.openMs / 1000).toFixed(1)} s` +
        (r.dropped > 0 ? `; ${r.dropped} DROPPED by the server while held` : ''),
    );
    results[kind] = r;
  }
  const { gregord, bare, socketio } = results;
  const figure = (name: string, of: (m: IdleMemory) => number): Omit<Figure, 'target' | 'met'> => ({
    name: `${name} per idle connection at ${thousands(count)}`,
    value: kb(of(gregord)),
    unit: 'KB',
    baseline: { name: SERVER_NAMES.bare, value: kb(of(bare)) },
    also: [{ name: SERVER_NAMES.socketio, value: kb(of(socketio)) }],
  });
  const figures: Figure[] = [
    {
      ...figure('RSS', (m) => m.perConnection.rss),
      target: `≤ ${TARGET_RATIO}× bare ws (≈ 10 KB)`,
      // At smoke size the heap's growth steps dominate: the ratio says nothing about the target.
      ...(o.smoke ? {} : { met: gregord.perConnection.rss <= TARGET_RATIO * bare.perConnection.rss }),
    },
    figure('V8 heap', (m) => m.perConnection.heap),
  ];
  const server = (m: IdleMemory) => ({
    name: SERVER_NAMES[m.kind],
    connections: m.connections,
    before: m.before,
    after: m.after,
    perConnectionBytes: m.perConnection,
    openSeconds: m.openMs / 1000,
    droppedWhileHeld: m.dropped,
  });
  return {
    title:
      `Idle connections: memory per connection at ${thousands(count)} ` +
      `(${thousands(count / DEVICES_PER_USER)} users × ${DEVICES_PER_USER}; gregord authenticated and synced)`,
    figures,
    details: {
      requested,
      connections: count,
      ...(count < requested ? { limitedBy: `open-file limit ${openFileLimit()}` } : {}),
      devicesPerUser: DEVICES_PER_USER,
      warmup: WARMUP,
      method:
        'one server at a time; warm-up, two GCs, VmRSS and V8 heap before and after; (after − before) / N; ' +
        'connections held by separate processes from fresh 127.0.x.y source addresses',
      ...(o.smoke ? { met: 'not decided at smoke size' } : {}),
      servers: { gregord: server(gregord), bare: server(bare), socketio: server(socketio) },
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runIdleMemory({ smoke: SMOKE });
  printFigures(r.title, r.figures);
}
