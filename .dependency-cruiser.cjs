// Module boundaries of the gateway (docs/module-boundaries.md), checked by `npm run depcruise` as part of
// `npm test`. Rule syntax: https://github.com/sverweij/dependency-cruiser/blob/main/doc/rules-reference.md
//
// Paths are relative to the repository root; npm packages resolve through the node_modules symlink to
// their real path, so package patterns match `node_modules/<name>/` anywhere in the path.

/** Test code: specs, `testing/` entry points and the `test/` tree. Layer rules apply to production code. */
const TEST_CODE = ['\\.spec\\.ts$', '(^|/)testing/', '^test/'];

/** Frameworks and IO clients: none of them belongs in a library under libs/. */
const FRAMEWORKS_AND_IO =
  'node_modules/(@types/)?(@nestjs/|@aws-sdk/|typeorm/|pg/|pg-[^/]+/|ioredis/|bullmq/|express/|ws/|nats/|' +
  'pino/|pino-http/|nestjs-pino/|prom-client/|rate-limiter-flexible/|jose/|rxjs/|reflect-metadata/)';

/** The pure packages the domain libraries may use. */
const PURE_PACKAGES = 'node_modules/decimal\\.js/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module takes part in an import cycle. Cut it with a port (an interface owned by the caller).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment:
        'Two folders (features) depend on each other, through any files. Features depend one way; the other ' +
        'direction goes through a port. Specs and testing/ helpers are not followed, so only production ' +
        'code counts.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'app-module-composes-only',
      severity: 'error',
      comment:
        'apps/gateway/src/app.module.ts imports the feature modules and the global guards, nothing else: a ' +
        'provider or controller belongs to its feature module (docs/module-boundaries.md).',
      from: { path: '^apps/gateway/src/app\\.module\\.ts$' },
      to: { path: '^apps/', pathNot: ['\\.module\\.ts$', '\\.guard\\.ts$'] },
    },
    {
      name: 'oms-is-pure',
      severity: 'error',
      comment:
        'libs/oms is the domain core: it imports only its own files and pure packages (decimal.js), no other ' +
        '@gateway lib, no framework, no IO, no Node built-in.',
      from: { path: '^libs/oms/', pathNot: TEST_CODE },
      to: { pathNot: ['^libs/oms/', PURE_PACKAGES] },
    },
    {
      name: 'risk-depends-on-oms-only',
      severity: 'error',
      comment:
        'libs/risk holds the pure pre-trade checks: it imports only @gateway/oms and pure packages, never an ' +
        'adapter lib (@gateway/brokers), a framework or IO.',
      from: { path: '^libs/risk/', pathNot: TEST_CODE },
      to: { pathNot: ['^libs/(risk|oms)/', PURE_PACKAGES] },
    },
    {
      name: 'brokers-not-to-risk',
      severity: 'error',
      comment: 'libs/brokers is an adapter of the domain: it may import @gateway/oms, never @gateway/risk.',
      from: { path: '^libs/brokers/', pathNot: TEST_CODE },
      to: { path: '^libs/risk/' },
    },
    {
      name: 'libs-not-to-frameworks',
      severity: 'error',
      comment: 'Libraries under libs/ use no framework or IO client (Nest, TypeORM, pg, Redis, HTTP servers...).',
      from: { path: '^libs/', pathNot: TEST_CODE },
      to: { path: FRAMEWORKS_AND_IO },
    },
    {
      name: 'libs-not-to-apps',
      severity: 'error',
      comment: 'Libraries under libs/ never import from apps/: the apps are built on them, not the other way.',
      from: { path: '^libs/', pathNot: TEST_CODE },
      to: { path: '^apps/' },
    },
    {
      name: 'migrations-not-to-apps',
      severity: 'error',
      comment: 'Migrations are plain SQL steps; the gateway imports them, not the other way.',
      from: { path: '^migrations/', pathNot: TEST_CODE },
      to: { path: '^apps/' },
    },
    {
      name: 'production-not-to-test-code',
      severity: 'error',
      comment:
        'Production code never imports a spec, a testing/ entry point or anything under test/ (the build ' +
        'leaves them out: tsconfig.build.json).',
      // apps/paper-venue is itself a fake broker started by the fault tests: its FaultyVenue is test code by design.
      from: { pathNot: [...TEST_CODE, '^apps/paper-venue/'] },
      to: { path: TEST_CODE },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file: a typo, or a path alias missing from tsconfig.json.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Specs and testing/ helpers are cruised only when production code reaches them (which is then a
    // violation); their own imports are not followed, so test wiring across layers creates no cycle.
    doNotFollow: { path: ['node_modules', ...TEST_CODE] },
    // Type-only imports count: a type from an adapter in libs/risk is a dependency on that adapter.
    tsPreCompilationDeps: true,
    // The @gateway/* path aliases and NodeNext's `.js` specifiers of `.ts` files resolve through tsconfig.json.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
