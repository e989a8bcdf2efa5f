import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromChild, ToChild } from './child.js';

/** A process the bench started: its pid (for /proc), its port, and a clean way to end it. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** The child's `ready` message (extra fields such as gregord's data dir). */
  readonly info: Readonly<Record<string, unknown>>;
  /** Sends a message and resolves with the child's next reply of type `reply`. */
  request<T extends FromChild['type']>(m: ToChild, reply: T): Promise<Extract<FromChild, { type: T }>>;
  stop(): Promise<void>;
}

/**
 * Forks `bench/lib/<script>` under tsx and waits for its `ready` (see child.ts). The child has its
 * own event loop and its own /proc entry, so CPU and memory are measured per server.
 *
 * @example
 *   const bare = await startChild('bare', 'bare-server.ts', []);
 *   console.log(bare.pid, bare.port);
 *   await bare.stop();
 */
export async function startChild(name: string, script: string, args: readonly string[]): Promise<Child> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const proc = fork(path, args, {
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of every child, to see where a server spends its time.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await nextMessage(proc, 'ready', 60_000).catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw new Error(`${name}: ${(e as Error).message}`);
  });
  return {
    name,
    pid: proc.pid!,
    port: ready.port,
    info: ready,
    request(m, reply) {
      const answer = nextMessage(proc, reply, 120_000);
      proc.send(m);
      return answer;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.send({ type: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function nextMessage<T extends FromChild['type']>(
  proc: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    const onMessage = (m: FromChild) => {
      if (m.type === 'error') {
        cleanup();
        reject(new Error(m.message));
      } else if (m.type === type) {
        cleanup();
        resolve(m as Extract<FromChild, { type: T }>);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited (${code}) before sending ${type}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
}
