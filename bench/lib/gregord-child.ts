/**
 * gregord under test, in its own process: SQLite storage in a fresh temporary data dir (removed on
 * stop), silent logs, rate limits out of the way. Extra argv is passed to loadConfig.
 *
 *   forked by startChild('gregord', 'gregord-child.ts', [...flags])
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import { createGregor } from '../../src/server/library.js';
import { serveChild } from './child.js';

serveChild(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gregor-bench-'));
  const config = loadConfig(
    [
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--storage',
      'sqlite',
      '--log-level',
      'silent',
      '--max-devices-per-user',
      '64',
      '--rate-limit-per-second',
      '100000',
      '--rate-limit-burst',
      '100000',
      // Every bench device connects from loopback: one address may authenticate many at once.
      '--max-pending-auth-per-address',
      '100000',
      ...process.argv.slice(2),
    ],
    {},
  );
  const gregor = await createGregor({ settings: config });
  const url = await gregor.listen();
  return {
    port: Number(new URL(url).port),
    info: { dataDir },
    stop: async () => {
      await gregor.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
