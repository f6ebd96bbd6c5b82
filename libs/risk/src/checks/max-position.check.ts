import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { workingQuantities } from '../working-orders.js';

/**
 * Per-symbol position limit (SEC Rule 15c3-5(c)(1)(i): thresholds "more finely-tuned by ... security")
 * in shares or contracts (`limits.maxPositionQuantity`, absolute), with the working orders at their
 * worst case: each side's working orders may all fill while the other side's do not. With position P,
 * working buys B and sells S in the symbol (leaves quantities, `unknown` orders included):
 * - a buy of q is denied when the long side could exceed the maximum: P + B + q > max;
 * - a sell of q when the short side could: −(P − S − q) > max.
 * An order is only measured on the side it adds to, so an order that reduces the position stays
 * allowed when the position is above the maximum (the limit was lowered, or fills came in beyond it).
 * Off when the limit or `context.workingOrders` is undefined. Denial: `risk.max_position`.
 */
export function maxPositionCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const max = limits.maxPositionQuantity;
  if (max === undefined || context.workingOrders === undefined) {
    return APPROVED;
  }
  const working = workingQuantities(intent.symbol, context.workingOrders);
  const position = context.positionQuantity;
  const buy = intent.side === 'buy';
  const worst = buy
    ? position.plus(working.buys).plus(intent.quantity)
    : position.minus(working.sells).minus(intent.quantity).negated();
  if (worst.lessThanOrEqualTo(max)) {
    return APPROVED;
  }
  return deny(
    'risk.max_position',
    `${intent.side} ${toDecimalString(intent.quantity)} could take the position in ${intent.symbol} to ` +
      `${buy ? 'long' : 'short'} ${toDecimalString(worst)} (position ${toDecimalString(position)}, working ` +
      `${intent.side}s ${toDecimalString(buy ? working.buys : working.sells)}, this order ${toDecimalString(intent.quantity)}), ` +
      `above the maximum of ${toDecimalString(max)} per symbol`,
  );
}
