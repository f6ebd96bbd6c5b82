import type { OrderIntent } from '../order-intent.js';
import { positionReduction } from '../position-reduction.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { workingQuantities } from '../working-orders.js';

/**
 * An order marked `positionEffect: 'close'` must reduce the confirmed position without flipping it,
 * counting the account's other working closing orders on the same side: long P with working closing
 * sells Sc, a closing sell of q needs q + Sc ≤ P (short: a closing buy of q needs q + Bc ≤ |P|).
 * Only confirmed fills are position: an `unknown` order adds nothing to P, but counts among the working
 * exits when it is closing, since it may be working. Orders not marked close are not this check's
 * business. Off without `context.workingOrders` (the claim cannot be checked against working exits;
 * callers that do not gather them keep their behaviour). Denial: `risk.reduce_only`.
 */
export function reduceOnlyCheck(intent: OrderIntent, context: RiskContext, _limits: RiskLimits): RiskDecision {
  if (intent.positionEffect !== 'close' || context.workingOrders === undefined) {
    return APPROVED;
  }
  const working = workingQuantities(intent.symbol, context.workingOrders);
  const closing = intent.side === 'buy' ? working.closingBuys : working.closingSells;
  const reduction = positionReduction(intent, context.positionQuantity, closing);
  if (reduction.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.reduce_only',
    `an order marked to close must reduce the confirmed position without flipping it, counting the working ` +
      `closing orders, and ${reduction.why}`,
  );
}
