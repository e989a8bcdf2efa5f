import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GregorClient } from '../../src/client/client.js';
import { NodeWebSocket, until } from '../client/support.js';
import { type NodeProcess, startNode } from '../fleet/processes.js';
import { TestDevice } from '../support/device.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';
import {
  checkRaw,
  Findings,
  FuzzDevice,
  postText,
  raw,
  sendHttp,
  serviceToken,
  upgradeText,
  userToken,
} from './drive.js';
import { frame, http, upgrade } from './inputs.js';

/**
 * The fuzz suite: seeded, bounded inputs over every door an outsider has (upgrade requests,
 * WebSocket frames, HTTP requests), against a real gregord process on SQLite and on PostgreSQL.
 * After each door: the process lives, every refusal was coded, a control user's state is
 * unchanged and its device still answers at once. At the end the server restarts, and every
 * device's hash equals the server's. GREGOR_FUZZ_SEED replays a run.
 */
const SEED = Number(process.env.GREGOR_FUZZ_SEED ?? 20261201);
const SIZES = { upgrades: 400, posts: 200, frames: 1000, requests: 500 };
const MAX_BYTES = 65_536;
const FUZZ_USERS = ['f1', 'f2', 'f3'];

const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, salt: number): T[] =>
  fc.sample(arbitrary, { seed: SEED + salt, numRuns });

const pgUp = await requirePostgres('fuzz suite on PostgreSQL');

interface Backend {
  readonly name: string;
  setup(): Promise<{ settings: string[]; cleanup: () => Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    setup: async () => ({ settings: [], cleanup: async () => {} }),
  },
  ...(pgUp
    ? [
        {
          name: 'PostgreSQL',
          setup: async () => {
            const db: TempDatabase = await createTempDatabase('gregor_fuzz_', { fsync: false });
            return {
              settings: ['--storage', 'postgres', '--postgres-url', db.url],
              cleanup: () => db.drop(),
            };
          },
        },
      ]
    : []),
];

for (const backend of BACKENDS) {
  describe(`fuzzed input on ${backend.name}: the process lives, refusals are coded, nothing diverges`, () => {
    let node: NodeProcess;
    let settings: string[];
    let dataDir: string;
    let cleanup: () => Promise<void>;
    let control: TestDevice;
    let controlHash: string;
    const watchers: GregorClient[] = [];
    const findings = new Findings();

    const start = () => startNode(settings, { dataDir });
    const state = async (uid: string, query = '') => {
      const r = await fetch(`${node.url}/v1/users/${uid}/state?${query}`, {
        headers: { authorization: `Bearer ${await serviceToken()}` },
      });
      return (await r.json()) as { hash: string; cursor: number };
    };

    /** After each door: alive, nothing found, the control user untouched and answering at once. */
    async function healthy(): Promise<void> {
      expect(node.child.exitCode, 'the process exited').toBeNull();
      expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      expect(findings.list).toEqual([]);
      expect((await state('control')).hash).toBe(controlHash);
      const started = Date.now();
      control.send({ type: 'ping', ref: `alive-${started}` });
      await control.next((f) => f.type === 'pong' && f.ref === `alive-${started}`, 5000);
    }

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'gregor-fuzz-'));
      const db = await backend.setup();
      cleanup = db.cleanup;
      // A fixed port, so devices find the server again after the restart.
      settings = [
        ...db.settings,
        '--port',
        String(await freePort()),
        '--max-message-bytes',
        String(MAX_BYTES),
        '--rate-limit-per-second',
        '100000',
        '--rate-limit-burst',
        '100000',
        '--auth-cookie',
        'session',
        '--allowed-origins',
        'http://app.test',
        '--request-timeout-ms',
        '2s',
      ];
      node = await start();
      const made = await fetch(`${node.url}/v1/users/control/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          system: 'gregor',
          body: { create: { kept: { category: 'c', body: 'kept' } } },
        }),
      });
      expect(made.status).toBe(200);
      controlHash = (await state('control')).hash;
      control = new TestDevice(`${node.ws}?device=control`, { token: await userToken('control', 'control') });
      await control.type('hello');
      for (const uid of FUZZ_USERS) {
        const client = new GregorClient({
          url: node.ws,
          device: 'watcher',
          getToken: () => userToken(uid, 'watcher'),
          WebSocket: NodeWebSocket,
          backoff: { minMs: 20, maxMs: 200 },
        });
        watchers.push(client);
        await client.ready();
      }
    }, 60_000);

    afterAll(async () => {
      control?.socket.terminate();
      await Promise.all(watchers.map((c) => c.close()));
      await node?.stop();
      await cleanup?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    it(`upgrade requests (${SIZES.upgrades}) and raw HTTP requests (${SIZES.posts}): targets, headers, cookies`, async () => {
      for (const input of sample(upgrade, SIZES.upgrades, 1)) {
        checkRaw(await raw(port(node), upgradeText(input)), input, findings);
      }
      for (const input of sample(upgrade, SIZES.posts, 2)) {
        checkRaw(await raw(port(node), postText(input)), input, findings);
      }
      await healthy();
    });

    it(`WebSocket frames (${SIZES.frames}): binary, invalid UTF-8, over-limit, deep, reserved keys, surrogates, NUL, huge numbers`, async () => {
      const devices = FUZZ_USERS.map((uid) => new FuzzDevice(node.ws, uid, MAX_BYTES));
      const inputs = sample(frame, SIZES.frames, 3);
      for (let i = 0; i < inputs.length; i++) await devices[i % devices.length]!.send(inputs[i]!, findings);
      for (const d of devices) d.close();
      // The grammar reaches past validation: some messages were legal and were stored.
      expect(devices.reduce((n, d) => n + d.acked, 0)).toBeGreaterThan(20);
      await healthy();
    });

    it(`HTTP API requests (${SIZES.requests}): bodies, content types, paths, queries, tokens`, async () => {
      let accepted = 0;
      for (const input of sample(http, SIZES.requests, 4)) {
        if (await sendHttp(node.url, input, findings)) accepted++;
      }
      // The grammar reaches past validation and authentication: some requests were carried out.
      expect(accepted).toBeGreaterThan(10);
      await healthy();
    });

    it('after a restart, every device hash equals the server’s, and no state changed', async () => {
      const synced = (c: GregorClient, uid: string) => async () =>
        c.connection === 'connected' && c.hash() === (await state(uid, 'device=watcher')).hash;
      for (const [i, uid] of FUZZ_USERS.entries()) {
        await until(`${uid}'s device converges before the restart`, synced(watchers[i]!, uid), 20_000);
      }
      // A fixed moment, so items expiring meanwhile cannot change what is compared.
      const at = `at=${Math.ceil(Date.now() / 1000)}`;
      const before = await Promise.all([...FUZZ_USERS, 'control'].map((uid) => state(uid, at)));
      await node.stop();
      node = await start();
      const after = await Promise.all([...FUZZ_USERS, 'control'].map((uid) => state(uid, at)));
      expect(after.map((s) => s.hash)).toEqual(before.map((s) => s.hash));
      for (const [i, uid] of FUZZ_USERS.entries()) {
        await until(`${uid}'s device converges after the restart`, synced(watchers[i]!, uid), 20_000);
      }
      control.socket.terminate();
      control = new TestDevice(`${node.ws}?device=control`, { token: await userToken('control', 'control') });
      await control.type('hello');
      await healthy();
    }, 90_000);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const port = (node: NodeProcess) => Number(new URL(node.url).port);
