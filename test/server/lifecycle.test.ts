import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/core/state-machine.js';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { GregorError } from '../../src/protocol/errors.js';
import type { Message } from '../../src/protocol/message.js';
import { parseMessage } from '../../src/protocol/validate.js';
import { Authenticator } from '../../src/server/auth.js';
import { loadConfig } from '../../src/server/config.js';
import { DeviceConnection } from '../../src/server/device.js';
import { Gregord } from '../../src/server/gregord.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { connectDevice } from '../support/device.js';
import { startTestServer } from '../support/server.js';

const quiet = { error() {}, warn() {}, info() {} };

describe('the pipeline', () => {
  function gregordWith(engine: Engine) {
    const config = loadConfig(['--storage', 'memory'], {});
    const auth = new Authenticator({
      userSecret: 'x'.repeat(32),
      serviceSecret: 'y'.repeat(32),
      leewaySeconds: 0,
    });
    return new Gregord({ config, engine, auth, log: quiet });
  }
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
    const gregord = gregordWith(failing);
    const s = socket();
    const conn = new DeviceConnection('u', 'd', s, 1 << 20, gregord.metrics);
    await gregord.attach(conn);
    conn.endSync(0);
    await expect(gregord.pipeline.consume(message('u'), 'test')).rejects.toMatchObject({
      code: 'GREGOR_ERR_STORAGE_UNAVAILABLE',
    });
    expect(s.sent).toEqual([]);
  });

  it('a failing consumer after the store does not stop the others', async () => {
    const gregord = gregordWith(new MemoryEngine());
    Object.defineProperty(gregord.publisher, 'publish', {
      value: async () => Promise.reject(new Error('pub/sub down')),
    });
    const s = socket();
    const conn = new DeviceConnection('u', 'd', s, 1 << 20, gregord.metrics);
    await gregord.attach(conn);
    conn.endSync(0);
    const result = await gregord.pipeline.consume(message('u'), 'test');
    expect(result.status).toBe('stored');
    expect(s.sent.map((t) => JSON.parse(t).type)).toEqual(['message']);
  });
});

describe('operations', () => {
  it('readiness goes red when storage fails', async () => {
    const server = await startTestServer(['--storage', 'memory']);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await server.gregord.engine.close();
      const r = await fetch(`${server.url}/readyz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { checks: { storage: string } }).checks.storage).toContain(
        'GREGOR_ERR_CLOSED',
      );
    } finally {
      await server.cleanup().catch(() => {});
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
