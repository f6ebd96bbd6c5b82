/**
 * `npm run bench [-- risk|orders [connections] [seconds]]`: prints figures; never pass/fail.
 * Needs PostgreSQL and Redis for `orders`.
 */
import { runPlaceOrderBench } from './place-order.bench.js';
import { runRiskBench } from './risk-engine.bench.js';

const [which = 'all', ...rest] = process.argv.slice(2);
if (which === 'risk' || which === 'all') {
  runRiskBench();
}
if (which === 'orders' || which === 'all') {
  await runPlaceOrderBench(Number(rest[0] ?? 8), Number(rest[1] ?? 10));
}
process.exit(0);
