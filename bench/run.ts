/**
 * `npm run bench [-- risk | orders [connections] [seconds] | ttl [clients] [seconds] [ttlMs] |
 * floor [secondsPerStep] [repeats] | cockpit [clients] [secondsPerPhase] [repeats] | export [secondsPerPhase] [repeats]]`: prints figures; never pass/fail. Needs PostgreSQL and Redis for
 * `orders`, `ttl` and `floor`; `floor` runs the built gateway (`npm run build`) and, when installed, pgbench.
 */
import { runCockpitBench } from './cockpit.bench.js';
import { runExportBench } from './export.bench.js';
import { runFloorBench } from './floor.bench.js';
import { runPlaceOrderBench } from './place-order.bench.js';
import { runRiskBench } from './risk-engine.bench.js';
import { runTtlBench } from './ttl.bench.js';

const [which = 'all', ...rest] = process.argv.slice(2);
if (which === 'risk' || which === 'all') {
  runRiskBench();
}
if (which === 'orders' || which === 'all') {
  await runPlaceOrderBench(Number(rest[0] ?? 8), Number(rest[1] ?? 10));
}
if (which === 'ttl' || which === 'all') {
  await runTtlBench(Number(rest[0] ?? 4), Number(rest[1] ?? 10), Number(rest[2] ?? 200));
}
if (which === 'cockpit') {
  await runCockpitBench(Number(rest[0] ?? 20), Number(rest[1] ?? 8), Number(rest[2] ?? 4));
}
if (which === 'export') {
  await runExportBench(Number(rest[0] ?? 8), Number(rest[1] ?? 4));
}
if (which === 'floor') {
  await runFloorBench(Number(rest[0] ?? 8), Number(rest[1] ?? 2));
}
process.exit(0);
