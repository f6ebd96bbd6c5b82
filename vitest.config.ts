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
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { TZ: 'UTC' },
  },
});
