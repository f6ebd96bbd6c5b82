import { isOnTickGrid, tickSizeFor, toDecimalString, type Decimal, type Product } from '@gateway/oms';
import { limitPriceOf, stopPriceOf, type OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { symbolProduct } from './product.check.js';

/** The valid prices on either side of `price` on the product's grid at `price`: [below, above]. */
export function nearestTicks(product: Product, price: Decimal): [Decimal, Decimal] {
  const tick = tickSizeFor(product, price);
  const below = price.dividedToIntegerBy(tick).times(tick);
  return [below, below.plus(tick)];
}

/**
 * A limit price and a stop price must each be a whole number of the product's ticks at that price
 * (`tickSizeFor` in @gateway/oms): SPX and SPXW options 0.05 below 3.00 and 0.10 from 3.00 (Cboe SPX
 * spec), XSP, SPY, QQQ and IWM options 0.01 (Cboe XSP spec; Penny Interval Program), shares 0.01 from
 * 1.00 and 0.0001 below (Reg NMS Rule 612). The exchange would reject the order anyway; denying it here
 * says why before a message is spent, and the reason names the tick and the nearest valid prices.
 * Denial: `risk.tick_size`. Always on, exits included (an off-tick exit cannot trade either); orders in
 * an unsupported product are left to the product check and the broker.
 */
export function tickSizeCheck(intent: OrderIntent, _context: RiskContext, _limits: RiskLimits): RiskDecision {
  const limit = limitPriceOf(intent);
  const stop = stopPriceOf(intent);
  if (limit === null && stop === null) {
    return APPROVED;
  }
  const product = symbolProduct(intent.symbol)?.product ?? null;
  if (product === null) {
    return APPROVED;
  }
  for (const [name, price] of [
    ['limit price', limit],
    ['stop price', stop],
  ] as const) {
    if (price === null || isOnTickGrid(product, price)) {
      continue;
    }
    const tick = toDecimalString(tickSizeFor(product, price));
    const [below, above] = nearestTicks(product, price).map(toDecimalString);
    return deny(
      'risk.tick_size',
      `${name} ${toDecimalString(price)} is not a multiple of the ${tick} tick of ${product.key} at that price: ` +
        `the nearest valid prices are ${below} and ${above}`,
    );
  }
  return APPROVED;
}
