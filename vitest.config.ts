import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most suites wait on PostgreSQL, SQLite's fsync or sockets: three files at a time keep two cores busy.
    maxWorkers: 3,
  },
});
