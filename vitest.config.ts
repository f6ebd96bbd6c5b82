import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@gateway/oms': lib('oms'),
      '@gateway/risk': lib('risk'),
      // Before '@gateway/brokers': the first alias whose prefix matches wins.
      '@gateway/brokers/testing': fileURLToPath(new URL('./libs/brokers/src/testing/index.ts', import.meta.url)),
      '@gateway/brokers': lib('brokers'),
      '@gateway/migrations': fileURLToPath(new URL('./migrations/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['{apps,libs,migrations}/**/*.spec.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Two files at a time on the two-core machines this runs on (vitest's default is one fewer than the
    // cores: one): most of an e2e file's time is spent waiting on its gateway child processes, and each
    // file has its own database and Redis prefix, so two files never see each other. Measured: the
    // summed test time of the suite is about twice its wall time with two workers.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { TZ: 'UTC' },
  },
});
