import { Decimal, type OrderSide } from '@gateway/oms';
import type { OrderIntent } from './order-intent.js';
import { positionReduction, type PositionReduction } from './position-reduction.js';
import type { RiskContext, WorkingExposure, WorkingOrderExposure } from './risk-context.js';

const ZERO = new Decimal(0);

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
export function workingQuantities(symbol: string, orders: readonly WorkingExposure[]): WorkingQuantities {
  let buys = new Decimal(0);
  let sells = new Decimal(0);
  let closingBuys = new Decimal(0);
  let closingSells = new Decimal(0);
  for (const order of orders) {
    if (order.symbol !== symbol) {
      continue;
    }
    if (order.side === 'buy') {
      buys = buys.plus(order.leavesQuantity);
      closingBuys = closingBuys.plus(order.closingQuantity);
    } else {
      sells = sells.plus(order.leavesQuantity);
      closingSells = closingSells.plus(order.closingQuantity);
    }
  }
  return { buys, sells, closingBuys, closingSells };
}

/** How many orders `orders` sum, all symbols. */
export function workingOrderCount(orders: readonly WorkingExposure[]): number {
  return orders.reduce((count, order) => count + order.orderCount, 0);
}

/**
 * Sums `orders` by symbol, side and, for stop orders (a stop price, no limit price), stop price, in
 * the order each sum is first met: what the gateway's SQL sums of an account's working orders.
 */
export function workingExposure(orders: readonly WorkingOrderExposure[]): WorkingExposure[] {
  const sums = new Map<string, WorkingExposure>();
  for (const order of orders) {
    const stopPrice = order.limitPrice === null ? order.stopPrice : null;
    const key = JSON.stringify([order.symbol, order.side, stopPrice?.toString() ?? null]);
    const sum = sums.get(key);
    const leaves = order.leavesQuantity;
    sums.set(key, {
      symbol: order.symbol,
      side: order.side,
      orderCount: (sum?.orderCount ?? 0) + 1,
      leavesQuantity: (sum?.leavesQuantity ?? ZERO).plus(leaves),
      closingQuantity: (sum?.closingQuantity ?? ZERO).plus(order.positionEffect === 'close' ? leaves : ZERO),
      stopPrice,
      limitNotional: (sum?.limitNotional ?? ZERO).plus(
        order.limitPrice === null ? ZERO : leaves.times(order.limitPrice),
      ),
      marketQuantity: (sum?.marketQuantity ?? ZERO).plus(
        order.limitPrice === null && order.stopPrice === null ? leaves : ZERO,
      ),
      multiplier: order.multiplier,
    });
  }
  return [...sums.values()];
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
