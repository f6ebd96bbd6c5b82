import { dailyLossCheck } from './checks/daily-loss.check.js';
import { duplicateOrderCheck } from './checks/duplicate-order.check.js';
import { expiryCheck } from './checks/expiry.check.js';
import { instrumentAllowedCheck } from './checks/instrument-allowed.check.js';
import { marketDataCheck } from './checks/market-data.check.js';
import { marketOrdersCheck } from './checks/market-orders.check.js';
import { maxGrossExposureCheck } from './checks/max-gross-exposure.check.js';
import { maxNotionalCheck } from './checks/max-notional.check.js';
import { maxPositionCheck } from './checks/max-position.check.js';
import { maxQuantityCheck } from './checks/max-quantity.check.js';
import { maxWorkingOrdersCheck } from './checks/max-working-orders.check.js';
import { messageRateCheck } from './checks/message-rate.check.js';
import { positionBreakCheck } from './checks/position-break.check.js';
import { positionLossCheck } from './checks/position-loss.check.js';
import { priceCollarCheck } from './checks/price-collar.check.js';
import { productCheck } from './checks/product.check.js';
import { reduceOnlyCheck } from './checks/reduce-only.check.js';
import { tickSizeCheck } from './checks/tick-size.check.js';
import { tradingStateCheck } from './checks/trading-state.check.js';
import type { OrderIntent } from './order-intent.js';
import type { RiskCheck } from './risk-check.js';
import type { RiskContext } from './risk-context.js';
import { APPROVED, type RiskDecision } from './risk-decision.js';
import type { RiskLimits } from './risk-limits.js';

/**
 * The pre-trade checks in the order they run. The first denial wins, so the order decides what the
 * client is told: the most lasting reason first, the most transient last.
 * 1. trading state, 2. position break, 3. daily loss, 4. position loss: the account's authority (halted,
 *    reducing, blocked, entries in a symbol whose position disagrees with the broker's, or exits only
 *    after a loss limit, of the day or of the position in the symbol) is the overriding fact, and says
 *    what to do about it;
 * 5. instrument allow-list: a static permission of the account;
 * 6. product, 7. expiry (expired; 0DTE opening cutoff), 8. tick size: static facts of the order's
 *    instrument and prices, true whatever the account or the market does, and the later checks rely on
 *    the product being known;
 * 9. market orders: a static permission, answered by sending another type;
 * 10. duplicate: before every check that counts working orders, since the original is among them and
 *    would otherwise be reported as a position or exposure breach instead of the double send it is;
 * 11. reduce-only: the client's `close` claim, before anything values the order;
 * 12. market data: the checks after it value the order at the quote;
 * 13. max quantity, 14. max notional, 15. price collar: the order's own size and prices;
 * 16. max position, 17. max gross exposure, 18. max working orders: the account with the order added;
 * 19. message rate, last: a denied order is never sent and costs no message, and a rate denial then
 *    means the order is otherwise acceptable and can be sent again later.
 */
export const DEFAULT_RISK_CHECKS: readonly RiskCheck[] = Object.freeze([
  tradingStateCheck,
  positionBreakCheck,
  dailyLossCheck,
  positionLossCheck,
  instrumentAllowedCheck,
  productCheck,
  expiryCheck,
  tickSizeCheck,
  marketOrdersCheck,
  duplicateOrderCheck,
  reduceOnlyCheck,
  marketDataCheck,
  maxQuantityCheck,
  maxNotionalCheck,
  priceCollarCheck,
  maxPositionCheck,
  maxGrossExposureCheck,
  maxWorkingOrdersCheck,
  messageRateCheck,
]);

/** Runs pre-trade checks in a fixed order and returns the first denial, else approved. Pure, no I/O. */
export class RiskEngine {
  constructor(private readonly checks: readonly RiskCheck[] = DEFAULT_RISK_CHECKS) {}

  check(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
    for (const check of this.checks) {
      const decision = check(intent, context, limits);
      if (decision.kind === 'denied') {
        return decision;
      }
    }
    return APPROVED;
  }
}
