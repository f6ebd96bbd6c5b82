import { Decimal, type Quote, toDecimalString } from '@gateway/oms';
import { limitPriceOf, stopPriceOf, type OrderIntent } from '../order-intent.js';
import { marketablePrice } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/**
 * The price an order's notional is valued at:
 * - `limit`, `stop_limit`: the limit price (the worst price the client accepts);
 * - `market`: the side of the quote it would take, the ask for a buy, the bid for a sell;
 * - `stop`: the higher of the stop price and that side of the quote. A buy stop sits above the market
 *   and trades at its stop or worse, so the ask alone would understate it; a sell stop sits below, so
 *   the bid is the larger (conservative) figure. Without a quote, the stop price.
 * Null for a market order without a usable quote.
 */
export function notionalPrice(intent: OrderIntent, quote: Quote | undefined): Decimal | null {
  const limit = limitPriceOf(intent);
  if (limit !== null) {
    return limit;
  }
  const touch = quote === undefined ? null : marketablePrice(intent.side, quote);
  const stop = stopPriceOf(intent);
  if (stop === null) {
    return touch;
  }
  return touch === null ? stop : Decimal.max(stop, touch);
}

/**
 * An order's notional, price (see `notionalPrice`) × quantity × multiplier in USD, may be at most
 * `limits.maxOrderNotional`. Denial: `risk.max_notional`. The quote's age is the market-data check's
 * business; a market order with no usable price at all fails closed with `risk.stale_market_data`.
 */
export function maxNotionalCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const price = notionalPrice(intent, context.quote);
  if (price === null) {
    return deny(
      'risk.stale_market_data',
      `no price to value a ${intent.type} order in ${intent.symbol} at: no usable quote`,
    );
  }
  const notional = price.times(intent.quantity).times(intent.multiplier);
  if (notional.lessThanOrEqualTo(limits.maxOrderNotional)) {
    return APPROVED;
  }
  const multiplier = intent.multiplier.equals(1) ? '' : ` × ${toDecimalString(intent.multiplier)}`;
  return deny(
    'risk.max_notional',
    `notional ${toDecimalString(notional)} USD (${toDecimalString(intent.quantity)} × ${toDecimalString(price)}${multiplier}) ` +
      `is above the maximum of ${toDecimalString(limits.maxOrderNotional)} USD per order`,
  );
}
