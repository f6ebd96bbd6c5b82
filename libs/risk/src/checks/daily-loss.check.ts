import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';

/**
 * Daily loss limit (SEC Rule 15c3-5(c)(1)(i) credit and capital thresholds; FIA: a loss limit that
 * moves the account to exits only). Once the day's P&L,
 * realized + unrealized in USD, is at or below −`limits.maxDailyLoss`, only orders that reduce the
 * confirmed position without flipping it pass, counting the working orders on their side
 * (`exitReduction`), so that no combination of fills adds risk. Exactly at the loss limit is denied.
 * Off when the limit or `context.dailyPnl` is undefined. Denial: `risk.daily_loss`.
 */
export function dailyLossCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const max = limits.maxDailyLoss;
  const pnl = context.dailyPnl;
  if (max === undefined || pnl === undefined) {
    return APPROVED;
  }
  const total = pnl.realized.plus(pnl.unrealized);
  if (total.greaterThan(max.negated())) {
    return APPROVED;
  }
  const exit = exitReduction(intent, context);
  if (exit.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.daily_loss',
    `the day's P&L is ${toDecimalString(total)} USD (realized ${toDecimalString(pnl.realized)}, unrealized ` +
      `${toDecimalString(pnl.unrealized)}), at or beyond the loss limit of ${toDecimalString(max)} USD: only orders ` +
      `that reduce the position are accepted, and ${exit.why}`,
  );
}
