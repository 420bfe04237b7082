import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Most files wait on sockets, timers and child processes rather than the CPU, so three forks
    // share a 2-core machine well (vitest's default is one fewer than the cores: a single fork here).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    allowOnly: false,
    // Every sandbox exchange is checked against Zoho's OpenAPI documents (test/spec/).
    setupFiles: ['test/spec/setup.ts'],
    env: {
      // Handlers log and emit metrics through Powertools; tests assert on tags and Zoho's state instead.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    },
  },
});
