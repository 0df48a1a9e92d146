import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes, not worker threads: native-loop tests start their own workers and check
    // process exit behaviour.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
