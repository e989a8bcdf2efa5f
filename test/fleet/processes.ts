import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_SECRET, USER_SECRET } from '../support/server.js';

/** A gregord node in its own process (killable with SIGKILL). */
export interface NodeProcess {
  readonly url: string;
  readonly ws: string;
  readonly child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `gregor serve` as a child process with shared secrets and the given settings. With a
 * `dataDir` of the caller's, the node can be started again on the same data (the caller removes it).
 */
export async function startNode(
  settings: string[],
  options: { dataDir?: string } = {},
): Promise<NodeProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gregor-node-')));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--jwt-secret',
      USER_SECRET,
      '--service-secret',
      SERVICE_SECRET,
      '--log-level',
      'silent',
      ...settings,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`gregord exited with ${code}: ${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    ws: `${url.replace(/^http/, 'ws')}/v1/ws`,
    child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A private server process on its own port, so stopping it disturbs no other test. */
export interface ServerProcess {
  readonly url: string;
  stop(): Promise<void>;
  /** Starts it again after `stop` (an outage of the caller's length). */
  start(): Promise<void>;
  restart(downMs: number): Promise<void>;
}

/** Runs `command` until it prints `ready` (on stdout or stderr); killed and started again at will. */
async function serverProcess(
  command: string,
  args: string[],
  ready: string,
  url: string,
): Promise<ServerProcess> {
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const read = (d: Buffer) => {
        out += d.toString();
        if (out.includes(ready)) resolve();
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)));
    });
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url,
    stop,
    start: launch,
    async restart(downMs: number) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
  };
}

/** A private redis-server (Debian's). */
export function startRedis(port: number): Promise<ServerProcess> {
  return serverProcess(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    'Ready to accept connections',
    `redis://127.0.0.1:${port}`,
  );
}

/** A TCP port free right now on 127.0.0.1 (the OS picks it), for a private server. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const NATS_SERVER = process.env.GREGOR_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/** A private nats-server (Debian's, /usr/sbin). */
export function startNats(port: number): Promise<ServerProcess> {
  return serverProcess(
    NATS_SERVER,
    ['-a', '127.0.0.1', '-p', String(port)],
    'Server is ready',
    `nats://127.0.0.1:${port}`,
  );
}

/** A three-master Redis Cluster from Debian's redis-server, on its own ports and directory. */
export interface RedisClusterProcess {
  /** `host:port` of each master. */
  readonly nodes: string[];
  /** Stops every node and removes the directory. */
  stop(): Promise<void>;
  /** Kills every node, keeping the cluster's configuration (a whole-cluster outage). */
  down(): Promise<void>;
  /** Starts the nodes again after `down`; resolves once the cluster is usable. */
  up(): Promise<void>;
}

export async function startRedisCluster(basePort: number): Promise<RedisClusterProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-cluster-'));
  const ports = [basePort, basePort + 1, basePort + 2];
  let children: ChildProcess[] = [];
  // Each node keeps its slots in nodes-<port>.conf in `dir`, so a restarted node rejoins as it was.
  const launch = async () => {
    children = await Promise.all(
      ports.map(async (port) => {
        const child = spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        );
        await new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('Ready to accept connections')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
        });
        return child;
      }),
    );
  };
  // The cluster is usable once every node agrees the slots are covered.
  const usable = async () => {
    for (const port of ports) {
      for (let i = 0; ; i++) {
        const info = await new Promise<string>((resolve) => {
          const c = spawn('redis-cli', ['-p', String(port), 'cluster', 'info']);
          let out = '';
          c.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          c.once('exit', () => resolve(out));
        });
        if (info.includes('cluster_state:ok')) break;
        if (i > 300) throw new Error('the Redis Cluster did not become ready');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const kill = () =>
    Promise.all(
      children
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => {
          const exited = new Promise<void>((r) => c.once('exit', () => r()));
          c.kill('SIGKILL');
          return exited;
        }),
    );
  await launch();
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  await new Promise<void>((resolve, reject) => {
    const create = spawn(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
      { stdio: 'ignore' },
    );
    create.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited with ${code}`)),
    );
  });
  await usable();
  return {
    nodes,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
    async down() {
      await kill();
    },
    async up() {
      await launch();
      await usable();
    },
  };
}
