import type { Engine } from '../../../core/state-machine.js';
import type { Extension } from '../types.js';

/** Compacts history older than `afterMs`, hourly (or every `afterMs` if shorter). */
export function compaction(engine: Engine, afterMs: number): Extension {
  let timer: NodeJS.Timeout | null = null;
  return {
    name: 'compaction',
    priority: 0,
    onListen({ gregor }) {
      timer = setInterval(
        async () => {
          try {
            const report = await engine.compact(Date.now() - afterMs);
            gregor.log.info({ report }, 'compacted history');
          } catch (e) {
            gregor.log.error({ err: e }, 'compaction failed; retrying next hour');
          }
        },
        Math.min(3_600_000, afterMs),
      );
      timer.unref();
    },
    onShutdown() {
      if (timer) clearInterval(timer);
    },
  };
}
