/**
 * Durable storage in the suite: the engines gregord runs on, each next to its plain driver doing
 * one durable transaction per message, measured in the same run (bench/storage-sqlite.ts,
 * bench/storage-postgres.ts hold the method).
 */
import { benchPostgres } from '../storage-postgres.js';
import { benchSqlite } from '../storage-sqlite.js';
import { progress } from './progress.js';
import type { SectionOptions, SectionResult } from './section.js';

/**
 * Durable ingest, state() and catch-up reads on SQLite, then on PostgreSQL; one section each.
 *
 * @example
 *   const [sqlite, postgres] = await runStorage({ smoke: true });
 */
export async function runStorage(o: SectionOptions): Promise<SectionResult[]> {
  const sections: SectionResult[] = [];
  for (const [name, bench] of [
    ['SQLite', benchSqlite],
    ['PostgreSQL', benchPostgres],
  ] as const) {
    const p = progress(`storage ${name}`);
    p.update('running');
    const t0 = performance.now();
    const figures = await bench({ smoke: o.smoke });
    const seconds = (performance.now() - t0) / 1000;
    p.done(`${figures.length} figures in ${seconds.toFixed(1)} s`);
    sections.push({
      title: `Durable storage, ${name} engine (in the bench process; baseline: the plain driver)`,
      figures,
      details: { engine: name, seconds },
    });
  }
  return sections;
}
