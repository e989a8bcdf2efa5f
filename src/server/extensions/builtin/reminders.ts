import type { Engine } from '../../../core/state-machine.js';
import type { Extension, GregorContext } from '../types.js';

/** Claimed per round: one claim query, then the next round at once if it was full. */
const BATCH = 100;
/** A node that claims reminders and dies leaves them to another node after this lease. */
const LEASE_MS = 30_000;

/**
 * Claims due reminders (atomically across nodes, under `nodeId`) every `intervalMs` and hands
 * each to `gregor.remind`, whose `onReminder` hooks show and publish it.
 */
export function reminders(engine: Engine, options: { nodeId: string; intervalMs: number }): Extension {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  const round = async (gregor: GregorContext): Promise<void> => {
    if (running || gregor.draining) return;
    running = true;
    try {
      for (;;) {
        const due = await engine.claimDueReminders(options.nodeId, Date.now(), BATCH, LEASE_MS);
        if (due.length === 0) break;
        for (const r of due) await gregor.remind(r);
        await engine.completeReminders(options.nodeId, due);
        gregor.metrics.reminders.inc(due.length);
        if (due.length < BATCH) break;
      }
    } catch (e) {
      gregor.log.error({ err: e }, 'reminder loop failed; retrying next tick');
    } finally {
      running = false;
    }
  };
  return {
    name: 'reminders',
    priority: 0,
    onListen({ gregor }) {
      timer = setInterval(() => void round(gregor), options.intervalMs);
      timer.unref();
    },
    onShutdown() {
      if (timer) clearInterval(timer);
    },
  };
}
