/**
 * The suite's hold section: can the load generator hold 50,000 idle gregord connections from this
 * machine, and at what memory? N devices (N/10 users × 10, each authenticated and synced) are
 * opened by holder processes (bench/lib/conn-holder.ts, at most 15,000 each, fresh 127.0.x.y
 * source addresses past the ~28k ephemeral ports of one address), held for a few seconds, and
 * checked: none may have been closed by the server. A server keeps one descriptor per connection,
 * so N is spread over as few gregord processes as the open-file limit allows (one where
 * `ulimit -n` is high enough; three at 20,000); each is an independent gregord (SQLite in its own
 * temporary dir) with its own users. Failures are counted and reported, not thrown.
 *
 *   npx tsx bench/suite/hold.ts [--smoke]
 */
import { pathToFileURL } from 'node:url';
import {
  connectionsPerProcess,
  DEVICES_PER_USER,
  type HeldConnections,
  holdConnections,
  type IdleServer,
  type Memory,
  measure,
  startIdleServer,
  userIds,
  WARMUP,
} from '../lib/idle.js';
import { openFileLimit, sleep } from '../lib/proc.js';
import { type Figure, printFigures, SMOKE } from '../report.js';
import { progress } from './progress.js';
import type { SectionOptions, SectionResult } from './section.js';

/** The figure: this many connections held from one machine. */
const TARGET = 50_000;

const kb = (bytes: number) => bytes / 1024;
const thousands = (n: number) => n.toLocaleString('en-US');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Like Promise.all, but rejects only once every promise has settled: nothing started in parallel
 * (holders, servers) is still starting when the caller cleans up.
 */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** One gregord process of the section and what it held. */
interface Part {
  readonly server: IdleServer;
  readonly users: readonly string[];
  before?: Memory;
  held?: HeldConnections;
}

/**
 * Holds N idle gregord connections (50,000; smoke 1,000) and returns the section's figures.
 *
 * @example
 *   const r = await runHold({ smoke: true });
 *   printFigures(r.title, r.figures);
 */
export async function runHold(o: SectionOptions & { readonly count?: number }): Promise<SectionResult> {
  const requested = o.count ?? (o.smoke ? 1_000 : TARGET);
  const holdMs = o.smoke ? 1_000 : 5_000;
  const perProcess = connectionsPerProcess();
  const processes = Math.max(1, Math.ceil(requested / perProcess));
  const users = userIds(Math.ceil(requested / DEVICES_PER_USER));
  const usersPerProcess = Math.ceil(users.length / processes);
  const p = progress(
    `hold ${thousands(requested)} gregord connections` +
      (processes > 1 ? `, over ${processes} processes (ulimit -n ${openFileLimit()})` : ''),
  );

  // Each process: its own users (user tokens are signed with its own dev secret).
  p.update(`starting ${processes} gregord`);
  const shares = Array.from({ length: processes }, (_, k) =>
    users.slice(k * usersPerProcess, (k + 1) * usersPerProcess),
  );
  const started = await Promise.allSettled(
    shares.map((share, k) => startIdleServer('gregord', share, processes === 1 ? 'gregord' : `gregord${k}`)),
  );
  const parts: Part[] = started.flatMap((s, k) =>
    s.status === 'fulfilled' ? [{ server: s.value, users: shares[k]! }] : [],
  );
  try {
    const notStarted = started.find((s) => s.status === 'rejected');
    if (notStarted) throw (notStarted as PromiseRejectedResult).reason;

    p.update('warm-up');
    await settleAll(
      parts.map(async (part) => {
        const warm = await holdConnections(part.server, part.users.slice(0, WARMUP / DEVICES_PER_USER));
        await warm.close();
      }),
    );
    p.update('measuring the servers before');
    await Promise.all(
      parts.map(async (part) => {
        part.before = await measure(part.server.child);
      }),
    );

    const opening = parts.map(() => 0);
    const t0 = performance.now();
    await settleAll(
      parts.map(async (part, k) => {
        part.held = await holdConnections(part.server, part.users, {
          tolerant: true,
          onProgress: (n) => {
            opening[k] = n;
            p.update(`${thousands(sum(opening))}/${thousands(requested)} open`);
          },
        });
      }),
    );
    const openMs = performance.now() - t0;
    const held = parts.map((part) => part.held!);
    const opened = sum(held.map((h) => h.opened));

    p.update(`${thousands(opened)} open, holding ${holdMs / 1000} s`);
    await sleep(holdMs);
    const status = await Promise.all(held.map((h) => h.status()));
    const open = sum(status.map((s) => s.open));
    const dropped = sum(status.map((s) => s.dropped));

    p.update(`${thousands(open)} open, measuring`);
    // A server that died answers no GC: its connections have shown up as dropped already.
    const after = await Promise.all(parts.map((part) => measure(part.server.child).catch(() => undefined)));
    const generatorRss = sum(await Promise.all(held.map((h) => h.rss())));
    const generatorEmptyRss = sum(held.map((h) => h.emptyRss));
    const servers = parts.map((part, k) => {
      const a = after[k];
      const n = part.held!.opened;
      return {
        name: part.server.child.name,
        requested: part.users.length * DEVICES_PER_USER,
        opened: n,
        open: status[k]!.open,
        dropped: status[k]!.dropped,
        failed: part.held!.failed,
        holders: part.held!.holders,
        openSeconds: part.held!.ms / 1000,
        before: part.before!,
        ...(a ? { after: a, rssPerConnectionBytes: (a.rss - part.before!.rss) / n } : { after: 'no answer' }),
      };
    });
    const measured = servers.filter((s) => typeof s.after !== 'string');
    const serverRssPerConnection =
      sum(measured.map((s) => (s.after as Memory).rss - s.before.rss)) / sum(measured.map((s) => s.opened));
    const failed = sum(held.map((h) => h.failed));
    const errors = held.flatMap((h) => h.errors).slice(0, 10);
    p.done(
      `${thousands(open)} of ${thousands(requested)} held ${holdMs / 1000} s` +
        (dropped > 0 ? ` (${thousands(dropped)} DROPPED)` : '') +
        (failed > 0 ? ` (${thousands(failed)} FAILED to open: ${errors[0] ?? ''})` : '') +
        `; opened in ${(openMs / 1000).toFixed(1)} s; load generator ${(generatorRss / 2 ** 20).toFixed(0)} MB`,
    );

    const figures: Figure[] = [
      {
        name: `idle connections held ${holdMs / 1000} s (${processes} gregord process${processes > 1 ? 'es' : ''})`,
        value: open,
        unit: 'connections',
        target: `${thousands(TARGET)} on one process`,
        // Smoke holds 1,000: it says nothing about the target either way.
        ...(o.smoke ? {} : { met: processes === 1 && open >= TARGET }),
      },
      { name: 'server RSS per held connection', value: kb(serverRssPerConnection), unit: 'KB' },
      { name: 'load generator RSS per held connection', value: kb(generatorRss / opened), unit: 'KB' },
    ];
    return {
      title:
        `Hold: ${thousands(open)} of ${thousands(requested)} idle gregord connections held ` +
        `(authenticated and synced, ${thousands(users.length)} users × ${DEVICES_PER_USER})` +
        (processes > 1
          ? `, spread over ${processes} gregord processes: ulimit -n ${openFileLimit()} allows ~${thousands(perProcess)} per process`
          : ''),
      figures,
      details: {
        requested,
        opened,
        heldAfterHoldPeriod: open,
        allStayedOpen: dropped === 0 && open === opened,
        dropped,
        failed,
        errors,
        openSeconds: openMs / 1000,
        holdSeconds: holdMs / 1000,
        openFileLimit: openFileLimit(),
        gregordProcesses: processes,
        usersPerProcess,
        loadGenerator: {
          holders: sum(held.map((h) => h.holders)),
          rssBytes: generatorRss,
          rssBeforeOpeningBytes: generatorEmptyRss,
          rssPerConnectionBytes: generatorRss / opened,
          rssGrowthPerConnectionBytes: (generatorRss - generatorEmptyRss) / opened,
        },
        serverRssPerConnectionBytes: serverRssPerConnection,
        servers,
      },
    };
  } finally {
    await Promise.all(parts.map((part) => part.held?.close()));
    await Promise.all(parts.map((part) => part.server.close()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runHold({ smoke: SMOKE });
  printFigures(r.title, r.figures);
}
