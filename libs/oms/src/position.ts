import { Decimal, PRICE_SCALE } from './decimal.js';
import type { OrderSide } from './order.js';

/**
 * A net position in one instrument. `quantity` is signed (long > 0, short < 0); `averagePrice` is the
 * average open price of the current position (zero when flat); `realizedPnl` is in the account's
 * currency (USD): closed quantity × price difference × contract multiplier.
 */
export interface Position {
  readonly symbol: string;
  readonly quantity: Decimal;
  readonly averagePrice: Decimal;
  readonly realizedPnl: Decimal;
}

export function flatPosition(symbol: string): Position {
  return { symbol, quantity: new Decimal(0), averagePrice: new Decimal(0), realizedPnl: new Decimal(0) };
}

/**
 * Applies one execution to a position (average-cost method). A fill in the position's direction
 * increases it at a weighted average price; a fill against it realises P&L on the closed part, and any
 * remainder opens a position the other way at the fill price.
 */
export function applyFillToPosition(
  position: Position,
  side: OrderSide,
  quantity: Decimal,
  price: Decimal,
  multiplier: Decimal,
): Position {
  const signed = side === 'buy' ? quantity : quantity.negated();
  const current = position.quantity;
  if (current.isZero() || current.isNegative() === signed.isNegative()) {
    const next = current.plus(signed);
    const averagePrice = current
      .abs()
      .times(position.averagePrice)
      .plus(quantity.times(price))
      .dividedBy(next.abs())
      .toDecimalPlaces(PRICE_SCALE);
    return { ...position, quantity: next, averagePrice };
  }
  const closed = Decimal.min(current.abs(), quantity);
  const direction = current.isNegative() ? -1 : 1;
  const realized = price.minus(position.averagePrice).times(closed).times(multiplier).times(direction);
  const next = current.plus(signed);
  const averagePrice = next.isZero()
    ? new Decimal(0)
    : next.isNegative() === current.isNegative()
      ? position.averagePrice
      : price;
  return { ...position, quantity: next, averagePrice, realizedPnl: position.realizedPnl.plus(realized) };
}
