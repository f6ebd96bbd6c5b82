import { Decimal, PRICE_SCALE } from './decimal.js';

/** The execution state of one order (FIX OrderQty 38, CumQty 14, LeavesQty 151, AvgPx 6). */
export interface FillState {
  readonly quantity: Decimal;
  readonly filledQuantity: Decimal;
  /** Volume-weighted average of the fills; null before the first fill. */
  readonly averageFillPrice: Decimal | null;
  /**
   * Σ quantity × price over the fills, unrounded. Optional so that a state rebuilt from a stored order
   * (which keeps only the rounded average) still works; carried from fill to fill, it keeps the average
   * exactly the rounded VWAP instead of drifting by up to half a unit in the last place per fill.
   */
  readonly filledNotional?: Decimal;
}

export interface FillResult extends FillState {
  /** Σ quantity × price over all fills so far, unrounded: pass the result on to the next applyFill. */
  readonly filledNotional: Decimal;
  /** What is left to fill: quantity − filled, never below zero. */
  readonly leavesQuantity: Decimal;
  /** True when this fill brings the filled quantity to the order quantity (or beyond). */
  readonly complete: boolean;
  /** True when the fill takes the filled quantity past the order quantity: keep it, flag it, alert. */
  readonly overfill: boolean;
}

/**
 * Applies one execution (`quantity` > 0 at `price` > 0) to an order's fill state.
 * The average is volume-weighted and rounded half-even to PRICE_SCALE decimal places; it is exact when
 * `state.filledNotional` is given (pass the previous FillResult), else derived from the rounded average.
 * Throws RangeError for a non-positive quantity or price (a broker report we cannot trust).
 */
export function applyFill(state: FillState, quantity: Decimal, price: Decimal): FillResult {
  if (!quantity.isPositive() || quantity.isZero()) {
    throw new RangeError(`fill quantity must be positive, got ${quantity.toString()}`);
  }
  if (!price.isPositive() || price.isZero()) {
    throw new RangeError(`fill price must be positive, got ${price.toString()}`);
  }
  const filledQuantity = state.filledQuantity.plus(quantity);
  const previousNotional =
    state.filledNotional ??
    (state.averageFillPrice ? state.averageFillPrice.times(state.filledQuantity) : new Decimal(0));
  const filledNotional = previousNotional.plus(price.times(quantity));
  const averageFillPrice = filledNotional.dividedBy(filledQuantity).toDecimalPlaces(PRICE_SCALE);
  return {
    quantity: state.quantity,
    filledQuantity,
    averageFillPrice,
    filledNotional,
    leavesQuantity: Decimal.max(state.quantity.minus(filledQuantity), 0),
    complete: filledQuantity.greaterThanOrEqualTo(state.quantity),
    overfill: filledQuantity.greaterThan(state.quantity),
  };
}

/** Quantity still working at the venue: zero once the order is done (FIX LeavesQty on a terminal order). */
export function leavesQuantity(state: FillState, working: boolean): Decimal {
  return working ? Decimal.max(state.quantity.minus(state.filledQuantity), 0) : new Decimal(0);
}
