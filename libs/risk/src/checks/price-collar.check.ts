import { toDecimalString, type Decimal } from '@gateway/oms';
import { limitPriceOf, stopPriceOf, type OrderIntent } from '../order-intent.js';
import { currentMarket } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/**
 * Fat-finger guard: an order's limit price and stop price must each lie within ±`priceCollarPercent`
 * of the reference price (the quote's mid, or the last trade without a two-sided quote); exactly at
 * the edge passes. Denial: `risk.price_collar`. Both directions are denied: a price far through the
 * market (a buy far above it) would sweep the book, and one far away from it (a buy far below) is
 * nearly always a misplaced decimal point that rests until a gap fills it by surprise.
 *
 * Without current market data the collar is not applied: only exits with a limit price get this far
 * (market-data check), and a collar around a stale price would block the exits that must stay
 * possible when the market has moved; a reduce-only limit order cannot add exposure.
 */
export function priceCollarCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const prices: [string, Decimal | null][] = [
    ['limit price', limitPriceOf(intent)],
    ['stop price', stopPriceOf(intent)],
  ];
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind !== 'current') {
    return APPROVED;
  }
  const reference = market.reference.price;
  for (const [name, price] of prices) {
    if (price === null) {
      continue;
    }
    const distance = price.minus(reference).abs();
    // |price − reference| / reference > percent / 100, without a division.
    if (distance.times(100).greaterThan(limits.priceCollarPercent.times(reference))) {
      const percent = distance.times(100).dividedBy(reference).toDecimalPlaces(2);
      return deny(
        'risk.price_collar',
        `${name} ${toDecimalString(price)} is ${toDecimalString(percent)} % from the reference price ` +
          `${toDecimalString(reference)} (${market.reference.source}); the collar is ±${toDecimalString(limits.priceCollarPercent)} %`,
      );
    }
  }
  return APPROVED;
}
