import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeToken } from '../../src/cli/tokens.js';
import { loadConfig } from '../../src/server/config.js';
import type { Gregord } from '../../src/server/gregord.js';
import { createGregor, type Gregor } from '../../src/server/library.js';

export const USER_SECRET = 'test-user-secret-0123456789abcdef0123456789';
export const SERVICE_SECRET = 'test-service-secret-0123456789abcdef01234567';

export interface TestServer {
  readonly gregor: Gregor;
  /** The core: its facade (consume, devices, closeDevices, metrics). */
  readonly gregord: Gregord;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  readonly dataDir: string;
  readonly ws: string;
  userToken(uid: string, device?: string, ttlSeconds?: number): Promise<string>;
  serviceToken(): Promise<string>;
  /** POSTs a message as a service; returns the JSON answer. */
  inject(uid: string, message: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Graceful shutdown (the data directory stays, to start again on it). */
  stop(): Promise<void>;
  /** Shutdown, and the data directory removed. */
  cleanup(): Promise<void>;
}

/** Starts a real gregord on a free port and a fresh data directory (SQLite unless told otherwise). */
export async function startTestServer(settings: string[] = []): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregord-test-'));
  const config = loadConfig(
    [
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--jwt-secret',
      USER_SECRET,
      '--service-secret',
      SERVICE_SECRET,
      ...settings,
    ],
    {},
  );
  const gregor = await createGregor({ settings: config, logger: { level: 'silent' } });
  const url = await gregor.listen();
  const serviceToken = () => makeToken({ secret: SERVICE_SECRET, service: true, ttlSeconds: 600 });
  return {
    gregor,
    gregord: gregor.core,
    port: Number(new URL(url).port),
    url,
    dataDir,
    ws: `${url.replace(/^http/, 'ws')}/v1/ws`,
    userToken: (uid, device, ttlSeconds = 600) =>
      makeToken({ secret: USER_SECRET, uid, ...(device ? { device } : {}), ttlSeconds }),
    serviceToken,
    async inject(uid, message) {
      const response = await fetch(`${url}/v1/users/${uid}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify(message),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    stop: () => gregor.close(),
    async cleanup() {
      await gregor.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
