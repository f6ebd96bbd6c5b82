import { Decimal, type OrderSide } from '@gateway/oms';
import type { OrderIntent } from './order-intent.js';
import { positionReduction, type PositionReduction } from './position-reduction.js';
import type { RiskContext, WorkingOrderExposure } from './risk-context.js';

/** Leaves quantities (shares or contracts) of an account's working orders in one symbol, by side. */
export interface WorkingQuantities {
  readonly buys: Decimal;
  readonly sells: Decimal;
  /** The part of `buys` marked `positionEffect: 'close'`. */
  readonly closingBuys: Decimal;
  /** The part of `sells` marked `positionEffect: 'close'`. */
  readonly closingSells: Decimal;
}

/** Sums the leaves of the working orders in `symbol` (exact string match), by side and by closing. */
export function workingQuantities(symbol: string, orders: readonly WorkingOrderExposure[]): WorkingQuantities {
  let buys = new Decimal(0);
  let sells = new Decimal(0);
  let closingBuys = new Decimal(0);
  let closingSells = new Decimal(0);
  for (const order of orders) {
    if (order.symbol !== symbol) {
      continue;
    }
    const closing = order.positionEffect === 'close';
    if (order.side === 'buy') {
      buys = buys.plus(order.leavesQuantity);
      closingBuys = closing ? closingBuys.plus(order.leavesQuantity) : closingBuys;
    } else {
      sells = sells.plus(order.leavesQuantity);
      closingSells = closing ? closingSells.plus(order.leavesQuantity) : closingSells;
    }
  }
  return { buys, sells, closingBuys, closingSells };
}

export function onSide(quantities: WorkingQuantities, side: OrderSide): Decimal {
  return side === 'buy' ? quantities.buys : quantities.sells;
}

/**
 * Whether `intent` is an exit in the strict sense the exposure checks exempt: it reduces the confirmed
 * position, and it fits in what the account's other working orders on its side (closing or not) leave
 * of the position, so no combination of fills can open, increase or flip it. Without
 * `context.workingOrders` only the confirmed position is known, as in the trading-state check.
 */
export function exitReduction(intent: OrderIntent, context: RiskContext): PositionReduction {
  const sameSide =
    context.workingOrders === undefined
      ? undefined
      : onSide(workingQuantities(intent.symbol, context.workingOrders), intent.side);
  return positionReduction(intent, context.positionQuantity, sameSide);
}
