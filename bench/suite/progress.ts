const t0 = performance.now();
const tty = process.stdout.isTTY;

/** Time since the suite started, as "12.3 s". */
export const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** A phase's progress line. */
export interface Progress {
  /** Redraws the line in place (on a terminal, at most every 100 ms; elsewhere nothing). */
  update(text: string): void;
  /** Prints the line's final text once. */
  done(text: string): void;
}

/**
 * One line per phase: redrawn in place on a terminal, printed once when done otherwise (CI logs).
 *
 * @example
 *   const p = progress('max gregord');
 *   p.update('1,000/10,000 deliveries');
 *   p.done('22,037 deliveries/s');
 */
export function progress(label: string): Progress {
  let last = 0;
  return {
    update(text) {
      if (!tty || performance.now() - last < 100) return;
      last = performance.now();
      process.stdout.write(`\r\x1b[2K[${elapsed()}] ${label}: ${text}`);
    },
    done(text) {
      process.stdout.write(`${tty ? '\r\x1b[2K' : ''}[${elapsed()}] ${label}: ${text}\n`);
    },
  };
}
