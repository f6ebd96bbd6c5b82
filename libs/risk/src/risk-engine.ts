import { maxNotionalCheck } from './checks/max-notional.check.js';
import { maxQuantityCheck } from './checks/max-quantity.check.js';
import { marketDataCheck } from './checks/market-data.check.js';
import { priceCollarCheck } from './checks/price-collar.check.js';
import { tradingStateCheck } from './checks/trading-state.check.js';
import type { OrderIntent } from './order-intent.js';
import type { RiskCheck } from './risk-check.js';
import type { RiskContext } from './risk-context.js';
import { APPROVED, type RiskDecision } from './risk-decision.js';
import type { RiskLimits } from './risk-limits.js';

/**
 * The pre-trade checks in the order they run. The first denial wins, so the order decides what the
 * client is told:
 * 1. trading state: a halted or reducing account is the overriding fact, and says what to do about it;
 * 2. market data: the checks after it value the order at the quote;
 * 3. max quantity, 4. max notional, 5. price collar: the order's own size and prices.
 */
export const DEFAULT_RISK_CHECKS: readonly RiskCheck[] = Object.freeze([
  tradingStateCheck,
  marketDataCheck,
  maxQuantityCheck,
  maxNotionalCheck,
  priceCollarCheck,
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
