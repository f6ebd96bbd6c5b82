import { Decimal, type Quote, toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { PositionExposure, RiskContext, WorkingExposure } from '../risk-context.js';
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
  workingOrders: readonly WorkingExposure[],
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
  for (const orders of workingOrders) {
    const value = workingValue(orders, markOf(orders.symbol));
    if (value === undefined) {
      return unpriced(`no price for a working market ${orders.side} order in ${orders.symbol}: no mark price`);
    }
    workingTotal = workingTotal.plus(value.times(orders.multiplier));
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

/**
 * What `orders` are worth before the multiplier, USD: their limit notional, the stop orders at the
 * higher of their stop price and `mark` (their stop price without a mark), the market orders at `mark`;
 * undefined when market orders with leaves have no mark.
 */
function workingValue(orders: WorkingExposure, mark: Decimal | undefined): Decimal | undefined {
  if (orders.stopPrice !== null) {
    return orders.leavesQuantity.times(mark === undefined ? orders.stopPrice : Decimal.max(orders.stopPrice, mark));
  }
  if (orders.marketQuantity.isZero()) {
    return orders.limitNotional;
  }
  return mark === undefined ? undefined : orders.limitNotional.plus(orders.marketQuantity.times(mark));
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
