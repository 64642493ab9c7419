import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Dovecot and end-to-end suites start servers and child processes; two cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
