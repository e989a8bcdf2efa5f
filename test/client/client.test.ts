import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/client/storage-file.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { serverHash, testClient, until } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

describe('the client SDK', () => {
  it('mirrors the state: a change on one device shows on the other, at once on its own (pending until acked)', async () => {
    const [a, b] = [testClient(server, 'sdk', 'a'), testClient(server, 'sdk', 'b')];
    await Promise.all([a.ready(), b.ready()]);
    const created = a.create('hello', { category: 'greeting', body: 'Hi' });
    expect(a.get('hello')).toMatchObject({ body: 'Hi', pending: true });
    expect((await created).status).toBe('stored');
    expect(a.get('hello')?.pending).toBe(false);
    await until('b sees the item', () => b.get('hello') !== undefined);
    const dismissed: string[] = [];
    a.on('dismissed', ({ id }) => dismissed.push(id));
    await b.dismiss('hello');
    await until('the item is gone on both', () => !a.get('hello') && !b.get('hello'));
    expect(dismissed).toEqual(['hello']);
    expect(a.hash()).toBe(await serverHash(server, 'sdk', 'a'));
    await Promise.all([a.close(), b.close()]);
  });

  it('a per-device dismissal hides the item on this device only', async () => {
    const [a, b] = [testClient(server, 'sdk2', 'a'), testClient(server, 'sdk2', 'b')];
    await Promise.all([a.ready(), b.ready()]);
    await a.create('x', { category: 'c' });
    await until('b sees x', () => b.get('x') !== undefined);
    await a.dismiss('x', { thisDeviceOnly: true });
    await until('x leaves a', () => a.get('x') === undefined);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.get('x')).toBeDefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('a change made offline reaches the server exactly once after reconnecting, also across a process restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gregor-client-'));
    const down = await startTestServer();
    const { port, dataDir } = down;
    await down.stop();
    const token = await down.userToken('offline', 'laptop');
    const out = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'test/client/fixtures/offline-writer.ts',
      down.ws,
      token,
      dir,
      'note',
    ]);
    expect(out.stdout.trim()).toBe('saved');

    const up = await startTestServer(['--port', String(port), '--data-dir', dataDir]);
    try {
      const client = testClient(up, 'offline', 'laptop', { storage: new FileStorage(dir) });
      await client.ready();
      await until('the outbox is acknowledged', () => client.get('note')?.pending === false);
      const log = await fetch(`${up.url}/v1/users/offline/messages?after=0`, {
        headers: { authorization: `Bearer ${await up.serviceToken()}` },
      });
      const messages = ((await log.json()) as { messages: { body: { create?: object } }[] }).messages;
      expect(messages.filter((m) => 'note' in (m.body.create ?? {}))).toHaveLength(1);
      await client.close();
      // The same client starting again has nothing left to send.
      const again = testClient(up, 'offline', 'laptop', { storage: new FileStorage(dir) });
      await again.ready();
      expect(again.get('note')).toMatchObject({ pending: false, body: 'made offline' });
      await again.close();
    } finally {
      await up.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('every client converges when the server restarts in the middle of a stream of changes', async () => {
    const first = await startTestServer();
    const { port, dataDir } = first;
    const clients = ['p', 'q', 'r'].map((d) => testClient(first, 'stream', d));
    await Promise.all(clients.map((c) => c.ready()));
    const sends: Promise<unknown>[] = [];
    let live: TestServer = first;
    let second: TestServer | null = null;
    try {
      for (let i = 0; i < 30; i++) {
        sends.push(clients[i % 3]!.create(`c${i}`, { category: 'stream', body: i }));
        if (i % 4 === 0) {
          await live.inject('stream', {
            system: 'gregor',
            body: { create: { [`s${i}`]: { category: 'stream' } } },
          });
        }
        if (i === 15) {
          await first.stop();
          second = await startTestServer(['--port', String(port), '--data-dir', dataDir]);
          live = second;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(sends);
      for (const c of clients) {
        await until(
          `client ${c.device} converges`,
          async () =>
            c.connection === 'connected' &&
            c.items().every((i) => !i.pending) &&
            c.hash() === (await serverHash(live, 'stream', c.device)),
          15_000,
        );
      }
      expect(clients[0]!.items().map((i) => i.id).length).toBe(38);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await second?.cleanup();
      await first.cleanup().catch(() => {});
    }
  }, 40_000);
});
