import { limitPriceOf, type OrderIntent } from '../order-intent.js';
import { positionReduction } from '../position-reduction.js';
import { currentMarket } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/**
 * Stale or missing market data blocks entries; exits stay possible as bounded limit orders
 * (ARCHITECTURE.md). Without a current quote (see `currentMarket`) an order passes only if it reduces
 * the position without flipping it AND carries a limit price (`limit`, `stop_limit`): without a view of
 * the market the limit is the only bound on the price, so market and stop exits are denied too.
 * Denials: `risk.stale_market_data`.
 */
export function marketDataCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind === 'current') {
    return APPROVED;
  }
  const reduction = positionReduction(intent, context.positionQuantity);
  if (reduction.reduces && limitPriceOf(intent) !== null) {
    return APPROVED;
  }
  const rule = reduction.reduces
    ? `an exit is accepted without current market data only as a limit order, and this is a ${intent.type} order`
    : `an order that does not reduce the position needs current market data (${reduction.why})`;
  return deny('risk.stale_market_data', `${market.reason}: ${rule}`);
}
