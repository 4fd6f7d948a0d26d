import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Handlers log through Powertools; test output stays readable without their INFO lines.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    globalSetup: ['test/setup/prerequisites.ts'],
    // Integration tests start real slapd and sshd processes; the CI machine has two cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
