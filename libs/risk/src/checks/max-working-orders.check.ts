import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { workingOrderCount } from '../working-orders.js';

/**
 * At most `limits.maxWorkingOrders` working orders per account, all symbols (FIA: a cap on open
 * orders stops a runaway strategy from layering the book). An order is denied when the count of the
 * orders summed in `context.workingOrders` (`unknown` ones included) + 1 exceeds the maximum. Exits count too: the cap
 * is about the number of orders at the venue, whatever they do, and a client at the cap can still
 * exit by cancelling (never blocked) or replacing one of its working orders. Off when the limit or
 * `workingOrders` is undefined. Denial: `risk.max_working_orders`.
 */
export function maxWorkingOrdersCheck(_intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const max = limits.maxWorkingOrders;
  if (max === undefined || context.workingOrders === undefined) {
    return APPROVED;
  }
  const count = workingOrderCount(context.workingOrders);
  if (count + 1 <= max) {
    return APPROVED;
  }
  return deny(
    'risk.max_working_orders',
    `the account has ${count} working orders and the maximum is ${max}: cancel or replace one first (exits count too)`,
  );
}
