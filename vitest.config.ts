import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

/**
 * The files that take longest (minutes: the model-based runs, the crash runs, then the long e2e files),
 * most first. They start first, so that the two workers end together instead of one running a model
 * file alone at the end; vitest would otherwise order a fresh clone (no timing cache) by file size, and
 * the model runs are small entry files over a shared body.
 */
const LONGEST_FIRST = [
  /order-lifecycle\.model\./,
  /e2e\/crash/,
  /e2e\/(kill-switch|cli|lockdown|access-matrix|jobs|event-export|log-secrets)\.test\.ts$/,
  /key-rotation\.spec\.ts$/,
];

class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((pattern) => pattern.test(f.moduleId));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}

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
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { TZ: 'UTC' },
  },
});
