/**
 * Memory per idle authenticated connection, on its own with a chosen N: the suite's idle-memory
 * section (bench/suite/memory.ts: gregord, the bare `ws` baseline and Socket.IO + redis-adapter,
 * one at a time; method in bench/lib/idle.ts). N defaults to 10,000 (smoke 500).
 *
 *   npx tsx bench/connections.ts [--smoke] [--count N]
 */
import { connectionsPerProcess } from './lib/idle.js';
import { openFileLimit } from './lib/proc.js';
import { printFigures, SMOKE } from './report.js';
import { runIdleMemory } from './suite/memory.js';

const countFlag = process.argv.indexOf('--count');
const count = countFlag > 0 ? Number(process.argv[countFlag + 1]) : undefined;

if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
  console.error('--count takes a positive whole number of connections');
  process.exitCode = 2;
} else if (count !== undefined && count > connectionsPerProcess()) {
  // The suite lowers N to what fits; asked for explicitly, say why it cannot run.
  console.error(
    `--count ${count} needs more open files than the limit here (ulimit -n = ${openFileLimit()}): ` +
      'the server holds one descriptor per connection. Raise it (ulimit -n 65536; the hard ' +
      'limit needs root/CAP_SYS_RESOURCE) or lower --count.',
  );
  process.exitCode = 2;
} else {
  const r = await runIdleMemory({ smoke: SMOKE, ...(count === undefined ? {} : { count }) });
  printFigures(r.title, r.figures);
}
