import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/** An order's quantity (shares or contracts) may be at most `limits.maxOrderQuantity`. Denial: `risk.max_quantity`. */
export function maxQuantityCheck(intent: OrderIntent, _context: RiskContext, limits: RiskLimits): RiskDecision {
  if (intent.quantity.lessThanOrEqualTo(limits.maxOrderQuantity)) {
    return APPROVED;
  }
  return deny(
    'risk.max_quantity',
    `quantity ${toDecimalString(intent.quantity)} is above the maximum of ${toDecimalString(limits.maxOrderQuantity)} per order`,
  );
}
