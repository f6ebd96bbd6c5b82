import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FRAMEWORKS_AND_IO = {
  group: [
    '@nestjs/*',
    '@aws-sdk/*',
    'typeorm',
    'pg',
    'ioredis',
    'bullmq',
    'express',
    'ws',
    'nats',
    'pino',
    'pino-http',
    'nestjs-pino',
    'prom-client',
    'rate-limiter-flexible',
    'jose',
    'rxjs',
    'reflect-metadata',
  ],
  message: 'Libraries under libs/ use no framework or IO client (docs/module-boundaries.md).',
};
const OMS_ONLY_PURE = {
  group: ['@gateway/*'],
  message: 'libs/oms is the domain core and imports no other @gateway lib (docs/module-boundaries.md).',
};
const RISK_ONLY_OMS = {
  group: ['@gateway/*', '!@gateway/oms'],
  message: 'libs/risk imports only @gateway/oms, never an adapter lib (docs/module-boundaries.md).',
};
const BROKERS_NOT_RISK = {
  group: ['@gateway/risk', '@gateway/migrations'],
  message: 'libs/brokers may import @gateway/oms, never @gateway/risk (docs/module-boundaries.md).',
};
const NODE_BUILT_INS = {
  group: ['node:*'],
  message: 'The pure libs (libs/oms, libs/risk) do no IO (docs/module-boundaries.md).',
};
const NOT_TO_APPS = {
  group: ['**/apps/**'],
  message: 'Libraries never import from apps/ (docs/module-boundaries.md).',
};

/** `no-restricted-imports` for one lib: production files also may not reach into apps/ (specs may wire them). */
function libraryBoundaries(lib, patterns) {
  const tests = [`${lib}/**/*.spec.ts`, `${lib}/**/testing/**/*.ts`];
  const rule = (extra) => ({
    'no-restricted-imports': ['error', { patterns: [FRAMEWORKS_AND_IO, ...patterns, ...extra] }],
  });
  return [
    { files: [`${lib}/**/*.ts`], ignores: tests, rules: rule([NOT_TO_APPS]) },
    { files: tests, rules: rule([]) },
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // The module boundaries of docs/module-boundaries.md, as the editor shows them; `npm run depcruise`
  // (.dependency-cruiser.cjs) checks the same rules over the whole graph, cycles included.
  ...libraryBoundaries('libs/oms', [OMS_ONLY_PURE, NODE_BUILT_INS]),
  ...libraryBoundaries('libs/risk', [RISK_ONLY_OMS, NODE_BUILT_INS]),
  ...libraryBoundaries('libs/brokers', [BROKERS_NOT_RISK]),
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // The plain JavaScript files (configs, scripts/depcruise.mjs) run on Node.
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], languageOptions: { globals: { process: 'readonly' } } },
);
