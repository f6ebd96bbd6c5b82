import { Decimal, type Quote, toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { PositionExposure, RiskContext, WorkingOrderExposure } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';
import { notionalPrice } from './max-notional.check.js';

/** The account's gross exposure in USD, by part, or why it cannot be valued. */
export type GrossExposure =
  | {
      readonly kind: 'valued';
      readonly positions: Decimal;
      readonly workingOrders: Decimal;
      readonly order: Decimal;
      readonly total: Decimal;
    }
  | { readonly kind: 'unpriced'; readonly reason: string };

/**
 * Gross exposure with `intent` added, in USD, no netting between symbols or sides:
 * - each position: |quantity| × mark × multiplier;
 * - each working order: leaves × price × multiplier, the price being its limit price; for a stop order
 *   the higher of its stop price and the mark (its stop price without a mark); for a market order the mark;
 * - the order: quantity × `notionalPrice` (its limit price, else the quote as max-notional values it;
 *   without a usable quote, the mark) × multiplier.
 * Missing marks: the intent's symbol is valued at the intent's own price, and orders with a price of
 * their own need none; a position, or a working market order, in another symbol without a mark cannot
 * be valued ('unpriced').
 */
export function grossExposure(
  intent: OrderIntent,
  quote: Quote | undefined,
  positions: readonly PositionExposure[],
  workingOrders: readonly WorkingOrderExposure[],
): GrossExposure {
  const marks = new Map<string, Decimal>();
  for (const position of positions) {
    if (position.markPrice !== null) {
      marks.set(position.symbol, position.markPrice);
    }
  }
  const orderPrice = notionalPrice(intent, quote) ?? marks.get(intent.symbol);
  if (orderPrice === undefined) {
    return unpriced(`no price for this ${intent.type} order in ${intent.symbol}: no usable quote and no mark`);
  }
  const markOf = (symbol: string) => marks.get(symbol) ?? (symbol === intent.symbol ? orderPrice : undefined);

  let positionsTotal = new Decimal(0);
  for (const position of positions) {
    if (position.quantity.isZero()) {
      continue;
    }
    const mark = markOf(position.symbol);
    if (mark === undefined) {
      return unpriced(`no mark price for the position of ${toDecimalString(position.quantity)} in ${position.symbol}`);
    }
    positionsTotal = positionsTotal.plus(position.quantity.abs().times(mark).times(position.multiplier));
  }
  let workingTotal = new Decimal(0);
  for (const order of workingOrders) {
    if (order.leavesQuantity.isZero()) {
      continue;
    }
    const price = workingOrderPrice(order, markOf(order.symbol));
    if (price === undefined) {
      return unpriced(`no price for a working ${order.type} ${order.side} order in ${order.symbol}: no mark price`);
    }
    workingTotal = workingTotal.plus(order.leavesQuantity.times(price).times(order.multiplier));
  }
  const orderTotal = intent.quantity.times(orderPrice).times(intent.multiplier);
  return {
    kind: 'valued',
    positions: positionsTotal,
    workingOrders: workingTotal,
    order: orderTotal,
    total: positionsTotal.plus(workingTotal).plus(orderTotal),
  };
}

function workingOrderPrice(order: WorkingOrderExposure, mark: Decimal | undefined): Decimal | undefined {
  if (order.limitPrice !== null) {
    return order.limitPrice;
  }
  if (order.stopPrice !== null) {
    return mark === undefined ? order.stopPrice : Decimal.max(order.stopPrice, mark);
  }
  return mark;
}

function unpriced(reason: string): GrossExposure {
  return { kind: 'unpriced', reason };
}

/**
 * The account's gross exposure (see `grossExposure`: positions, working orders and this order, in USD)
 * may be at most `limits.maxGrossExposure` (SEC Rule 15c3-5(c)(1)(i): credit or capital thresholds in
 * the aggregate, counting orders entered, not only executions); exactly at the maximum passes.
 * An exit, an order that reduces the confirmed position and fits in what the working orders on its side
 * leave of it (`exitReduction`), is approved without valuing anything: its fill lowers the exposure,
 * and exits must stay possible when the account is at its limit. An entry that cannot be valued, for a
 * missing mark, is denied (fail closed), the reason naming the position or order. Off when the limit,
 * `context.positions` or `context.workingOrders` is undefined. Denial: `risk.max_gross_exposure`.
 */
export function maxGrossExposureCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const max = limits.maxGrossExposure;
  const { positions, workingOrders } = context;
  if (max === undefined || positions === undefined || workingOrders === undefined) {
    return APPROVED;
  }
  if (exitReduction(intent, context).reduces) {
    return APPROVED;
  }
  const exposure = grossExposure(intent, context.quote, positions, workingOrders);
  if (exposure.kind === 'unpriced') {
    return deny(
      'risk.max_gross_exposure',
      `the account's gross exposure cannot be valued (${exposure.reason}), so only exits are accepted`,
    );
  }
  if (exposure.total.lessThanOrEqualTo(max)) {
    return APPROVED;
  }
  return deny(
    'risk.max_gross_exposure',
    `gross exposure would be ${toDecimalString(exposure.total)} USD (positions ${toDecimalString(exposure.positions)}, ` +
      `working orders ${toDecimalString(exposure.workingOrders)}, this order ${toDecimalString(exposure.order)}), ` +
      `above the maximum of ${toDecimalString(max)} USD`,
  );
}
