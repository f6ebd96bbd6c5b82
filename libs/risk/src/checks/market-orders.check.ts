import { priceFieldsFor, toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import { currentMarket } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { collarHalfWidth, describeCollar, priceCollarFor } from './price-collar.check.js';

/**
 * With `limits.allowMarketOrders === false`, orders without a limit price (`market`, and `stop`, which
 * becomes a market order when triggered) are denied, exits included: their price is bounded only by
 * the book, and an exit can be sent as a marketable limit order inside the price collar
 * (ARCHITECTURE.md: exits are bounded marketable limit orders), which the reason spells out.
 * Undefined or true: allowed. Denial: `risk.market_orders_not_allowed`.
 */
export function marketOrdersCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  if (limits.allowMarketOrders !== false || priceFieldsFor(intent.type).limit) {
    return APPROVED;
  }
  const instead =
    intent.type === 'stop'
      ? 'a stop_limit order whose limit price is within the price collar'
      : 'a marketable limit order bounded by the price collar';
  return deny(
    'risk.market_orders_not_allowed',
    `${intent.type} orders are not accepted for this account: send ${instead} instead${collarEdge(intent, context, limits)}`,
  );
}

/** The collar's edge on the order's side, as a hint for the reason; '' without current market data. */
function collarEdge(intent: OrderIntent, context: RiskContext, limits: RiskLimits): string {
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind !== 'current') {
    return '';
  }
  const reference = market.reference.price;
  const collar = priceCollarFor(intent.symbol, limits);
  const halfWidth = collarHalfWidth(collar, reference);
  const edge = intent.side === 'buy' ? reference.plus(halfWidth) : reference.minus(halfWidth);
  const bound = intent.side === 'buy' ? 'at most' : 'at least';
  return (
    ` (a ${intent.side} limit of ${bound} ${toDecimalString(edge)}, ${describeCollar(collar)} ` +
    `around the reference price ${toDecimalString(reference)})`
  );
}
