import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';

/**
 * Per-position loss limit (SEC Rule 15c3-5(c)(1)(i) thresholds "more finely-tuned by ... security"; FIA:
 * a loss limit that moves trading to exits only). Once the unrealized P&L of the position in the intent's
 * symbol, quantity × (mark − average price) × multiplier of its entry in `context.positions` in USD (a
 * short loses when the mark rises), is at or below −`limits.maxPositionLoss`,
 * only orders that reduce that position without flipping it, counting the working orders on their side
 * (`exitReduction`), are accepted in the symbol; other symbols are not affected. Exactly at the limit is
 * denied. Off when the limit or `context.positions` is undefined, and for a symbol without an entry, or
 * whose entry has no mark or no average price: a symbol without a mark has no current quote, and the
 * market-data check already holds it to exits. Denial: `risk.max_position_loss`.
 */
export function positionLossCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const max = limits.maxPositionLoss;
  if (max === undefined || context.positions === undefined) {
    return APPROVED;
  }
  const position = context.positions.find((p) => p.symbol === intent.symbol);
  if (position === undefined || position.markPrice === null || position.averagePrice === undefined) {
    return APPROVED;
  }
  const { quantity, markPrice, averagePrice } = position;
  const pnl = quantity.times(markPrice.minus(averagePrice)).times(position.multiplier);
  if (pnl.greaterThan(max.negated())) {
    return APPROVED;
  }
  const exit = exitReduction(intent, context);
  if (exit.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.max_position_loss',
    `the position of ${toDecimalString(quantity)} in ${intent.symbol} has an unrealized P&L of ` +
      `${toDecimalString(pnl)} USD (average price ${toDecimalString(averagePrice)}, mark ` +
      `${toDecimalString(markPrice)}), at or beyond the position loss limit of ${toDecimalString(max)} USD: ` +
      `only orders that reduce it are accepted, and ${exit.why}`,
  );
}
