import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux build we target). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat.
 *
 * @example
 *   const before = cpuSeconds(pid); await work(); const used = cpuSeconds(pid) - before;
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds per pid of the processes named in `names`, at one moment. */
export type CpuSnapshot = ReadonlyMap<number, number>;

/**
 * CPU seconds used so far by each running process named one of `names` (e.g. the `postgres`
 * backends and `redis-server` a server under test talks to).
 *
 * @example
 *   const before = namedCpu(['postgres', 'redis-server']);
 *   await phase();
 *   const used = namedCpuSince(before, ['postgres', 'redis-server']);
 */
export function namedCpu(names: readonly string[]): CpuSnapshot {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (names.includes(comm)) cpu.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // The process exited while we looked.
    }
  }
  return cpu;
}

/**
 * CPU seconds those processes used since `before`: a process started since counts whole; one that
 * exited since counts nothing (its last seconds are lost, never subtracted), so the figure is a
 * slight underestimate, never negative.
 */
export function namedCpuSince(before: CpuSnapshot, names: readonly string[]): number {
  let used = 0;
  for (const [pid, now] of namedCpu(names)) used += now - (before.get(pid) ?? 0);
  return used;
}

/**
 * Resident set size in bytes, from VmRSS in /proc/<pid>/status.
 *
 * @example
 *   console.log(rssBytes(process.pid) / 1e6, 'MB');
 */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * This process's soft limit on open files (children inherit it), from /proc/self/limits.
 *
 * @example
 *   if (openFileLimit() < 20_000) console.warn('raise ulimit -n');
 */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

/**
 * Resolves after `ms`.
 *
 * @example
 *   await sleep(1000);
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
