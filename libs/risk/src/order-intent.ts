import { priceFieldsFor, type Decimal, type OrderSide, type OrderType, type PositionEffect } from '@gateway/oms';

/** An order the client asks for, as the risk checks see it (validated at the edge, not yet an Order). */
export interface OrderIntent {
  /** An equity ticker or a padded OSI option symbol. */
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  /** Shares or contracts, > 0. */
  readonly quantity: Decimal;
  /** Set for `limit` and `stop_limit` orders, null otherwise. */
  readonly limitPrice: Decimal | null;
  /** Set for `stop` and `stop_limit` orders, null otherwise. */
  readonly stopPrice: Decimal | null;
  /** Contract multiplier: 1 for equities, 100 for standard options (Instrument.multiplier). */
  readonly multiplier: Decimal;
  /** What the client says the order does to its position (options: to open / to close); null when unsaid. */
  readonly positionEffect: PositionEffect | null;
}

/**
 * The limit price of an order type that has one (`limit`, `stop_limit`), else null (a stray price on a
 * market order is ignored). Throws TypeError when a type that needs it lacks it: the edge validates
 * this, so it is a bug.
 */
export function limitPriceOf(intent: OrderIntent): Decimal | null {
  return requiredPrice(intent, priceFieldsFor(intent.type).limit, intent.limitPrice, 'limitPrice');
}

/** The stop price of a `stop` or `stop_limit` order, else null. Throws TypeError when it is missing. */
export function stopPriceOf(intent: OrderIntent): Decimal | null {
  return requiredPrice(intent, priceFieldsFor(intent.type).stop, intent.stopPrice, 'stopPrice');
}

function requiredPrice(intent: OrderIntent, needed: boolean, price: Decimal | null, field: string): Decimal | null {
  if (!needed) {
    return null;
  }
  if (price === null) {
    throw new TypeError(`a ${intent.type} order needs ${field}`);
  }
  return price;
}
