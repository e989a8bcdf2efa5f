import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/core/state-machine.js';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { GregorError } from '../../src/protocol/errors.js';
import type { Message } from '../../src/protocol/message.js';
import { parseMessage } from '../../src/protocol/validate.js';
import type { Principal } from '../../src/server/auth.js';
import { DeviceConnection } from '../../src/server/device.js';
import type { Extension } from '../../src/server/extensions/types.js';
import { createGregor } from '../../src/server/library.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { connectDevice } from '../support/device.js';
import { startTestServer } from '../support/server.js';

const quiet = { error() {}, warn() {}, info() {} };

describe('the pipeline', () => {
  async function gregordWith(engine: Engine, extensions: Extension[] = []) {
    const gregor = await createGregor({
      settings: { storage: 'memory', jwtSecret: 'x'.repeat(32), serviceSecret: 'y'.repeat(32) },
      engine,
      extensions,
      logger: quiet,
    });
    return gregor.core;
  }
  const principal: Principal = { kind: 'user', uid: 'u', device: 'd', validUntil: null };
  const socket = () => {
    const sent: string[] = [];
    return { sent, send: (t: string) => sent.push(t), close() {}, bufferedAmount: 0 };
  };
  const message = (uid: string): Message =>
    parseMessage({ system: 'gregor', body: { create: { a: { category: 'c' } } } }, { uid, now: 1 });

  it('a store failure stops the message: an error for the sender, no broadcast', async () => {
    const memory = new MemoryEngine();
    const failing = Object.assign(Object.create(memory) as Engine, {
      consumeMessage: async () => {
        throw new GregorError('STORAGE_UNAVAILABLE', 'the database cannot be reached');
      },
    });
    const gregord = await gregordWith(failing);
    const s = socket();
    const conn = new DeviceConnection('u', 'd', s, 1 << 20, gregord.metrics);
    await gregord.attach(conn, principal);
    conn.endSync(0);
    await expect(gregord.consume(message('u'), 'test')).rejects.toMatchObject({
      code: 'GREGOR_ERR_STORAGE_UNAVAILABLE',
    });
    expect(s.sent).toEqual([]);
  });

  it('a failing afterStore hook does not stop the others, and is counted', async () => {
    const broken: Extension = {
      name: 'broken',
      priority: 1000,
      afterStore() {
        throw new Error('pub/sub down');
      },
    };
    const gregord = await gregordWith(new MemoryEngine(), [broken]);
    const s = socket();
    const conn = new DeviceConnection('u', 'd', s, 1 << 20, gregord.metrics);
    await gregord.attach(conn, principal);
    conn.endSync(0);
    const { result } = await gregord.consume(message('u'), 'test');
    expect(result.status).toBe('stored');
    expect(s.sent.map((t) => JSON.parse(t).type)).toEqual(['message']);
    expect(await gregord.metrics.registry.getSingleMetricAsString('gregor_hook_failures_total')).toContain(
      'gregor_hook_failures_total{hook="afterStore",extension="broken"} 1',
    );
  });
});

describe('operations', () => {
  it('readiness goes red when storage fails', async () => {
    const engine = new MemoryEngine();
    const gregor = await createGregor({ settings: { storage: 'memory', port: 0 }, engine, logger: quiet });
    try {
      const url = await gregor.listen();
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      await engine.close();
      const r = await fetch(`${url}/readyz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { checks: { storage: string } }).checks.storage).toContain(
        'GREGOR_ERR_CLOSED',
      );
    } finally {
      await gregor.close().catch(() => {});
    }
  });

  it('shutting down closes devices with a retry code and keeps what was acknowledged', async () => {
    const server = await startTestServer();
    const { device } = await connectDevice(server.ws, await server.userToken('bye'), 'd');
    const { body } = await server.inject('bye', {
      system: 'gregor',
      body: { create: { kept: { category: 'c' } } },
    });
    expect(body.status).toBe('stored');
    await server.stop();
    expect((await device.closed).code).toBe(CLOSE.SERVER_RESTART);
    const again = await startTestServer(['--data-dir', server.dataDir]);
    try {
      const r = await fetch(`${again.url}/v1/users/bye/state`, {
        headers: { authorization: `Bearer ${await again.serviceToken()}` },
      });
      expect(Object.keys(((await r.json()) as { items: object }).items)).toEqual(['kept']);
    } finally {
      await again.cleanup();
    }
  });
});
