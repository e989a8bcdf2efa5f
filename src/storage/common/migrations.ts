// What both SQL engines' `migrations.ts` share: the shape of one schema step.

/** One schema step. Versions are consecutive from 1 and never edited once released: add a new one instead. */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}
