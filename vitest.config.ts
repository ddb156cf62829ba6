import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Statistical tests draw 10^5+ samples; give them room on a 2-core CI machine.
    testTimeout: 60_000,
    pool: 'forks',
  },
});
