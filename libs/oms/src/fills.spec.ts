import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, PRICE_SCALE } from './decimal.js';
import { applyFill, leavesQuantity, type FillResult, type FillState } from './fills.js';

/** A positive decimal built as an integer scaled by a power of ten: never a JS float. */
const positiveDecimal = (maxInteger: number, maxScale: number): fc.Arbitrary<Decimal> =>
  fc
    .tuple(fc.integer({ min: 1, max: maxInteger }), fc.integer({ min: 0, max: maxScale }))
    .map(([n, scale]) => new Decimal(n).dividedBy(new Decimal(10).pow(scale)));

/** Fractional shares down to 1e-4; prices from $0.0001 up to large index levels. */
const fillQuantity = positiveDecimal(1_000_000, 4);
const fillPrice = positiveDecimal(10_000_000, 4);
const fills = fc.array(fc.record({ quantity: fillQuantity, price: fillPrice }), { minLength: 1, maxLength: 25 });

/** Order quantities that hit the fills' total exactly, fall short of it, exceed it, or are arbitrary. */
const scenario = fills.chain((fs) => {
  const total = fs.reduce((sum, f) => sum.plus(f.quantity), new Decimal(0));
  const orderQuantity = fc.oneof(
    fc.constant(total),
    fillQuantity.map((d) => total.plus(d)),
    fillQuantity.filter((d) => d.lessThan(total)).map((d) => total.minus(d)),
    fillQuantity,
  );
  return orderQuantity.map((quantity) => ({ quantity, fills: fs }));
});

const TOLERANCE = new Decimal('1e-10');
const ZERO = new Decimal(0);

function emptyState(quantity: Decimal): FillState {
  return { quantity, filledQuantity: ZERO, averageFillPrice: null };
}

function d(text: string): Decimal {
  return new Decimal(text);
}

describe('applyFill properties', () => {
  it('keeps cumulative quantity, leaves, flags and the VWAP exact over any fill sequence', () => {
    fc.assert(
      fc.property(scenario, ({ quantity, fills: fs }) => {
        let state: FillState = emptyState(quantity);
        let sumQuantity = ZERO;
        let sumValue = ZERO;
        let minPrice: Decimal | null = null;
        let maxPrice: Decimal | null = null;
        for (const fill of fs) {
          const result: FillResult = applyFill(state, fill.quantity, fill.price);
          sumQuantity = sumQuantity.plus(fill.quantity);
          sumValue = sumValue.plus(fill.quantity.times(fill.price));
          minPrice = minPrice === null ? fill.price : Decimal.min(minPrice, fill.price);
          maxPrice = maxPrice === null ? fill.price : Decimal.max(maxPrice, fill.price);

          expect(result.quantity.eq(quantity)).toBe(true);
          expect(result.filledQuantity.eq(sumQuantity)).toBe(true);
          expect(result.leavesQuantity.eq(Decimal.max(quantity.minus(sumQuantity), 0))).toBe(true);
          expect(result.leavesQuantity.isNegative()).toBe(false);
          expect(result.complete).toBe(sumQuantity.gte(quantity));
          expect(result.overfill).toBe(sumQuantity.gt(quantity));

          const average = result.averageFillPrice;
          expect(average).not.toBeNull();
          if (average === null) {
            return;
          }
          const vwap = sumValue.dividedBy(sumQuantity);
          expect(average.gte(minPrice) && average.lte(maxPrice)).toBe(true);
          expect(average.minus(vwap).abs().lte(TOLERANCE)).toBe(true);
          // Stronger than the tolerance: exactly the VWAP rounded half-even, however many fills.
          expect(average.eq(vwap.toDecimalPlaces(PRICE_SCALE, Decimal.ROUND_HALF_EVEN))).toBe(true);
          expect(average.decimalPlaces()).toBeLessThanOrEqual(PRICE_SCALE);
          state = result;
        }
      }),
    );
  });

  it('resumed from a stored order (rounded average, no notional), one more fill stays within 1e-10 of the VWAP', () => {
    fc.assert(
      fc.property(fills, fillQuantity, fillPrice, (fs, nextQuantity, nextPrice) => {
        let state: FillResult | FillState = emptyState(new Decimal(1_000_000_000));
        for (const fill of fs) {
          state = applyFill(state, fill.quantity, fill.price);
        }
        const stored: FillState = {
          quantity: state.quantity,
          filledQuantity: state.filledQuantity,
          averageFillPrice: state.averageFillPrice,
        };
        const result = applyFill(stored, nextQuantity, nextPrice);
        const all = [...fs, { quantity: nextQuantity, price: nextPrice }];
        const vwap = all
          .reduce((sum, f) => sum.plus(f.quantity.times(f.price)), ZERO)
          .dividedBy(all.reduce((sum, f) => sum.plus(f.quantity), ZERO));
        expect(result.averageFillPrice?.minus(vwap).abs().lte(TOLERANCE)).toBe(true);
      }),
    );
  });

  it('rejects a zero or negative quantity or price and leaves the state alone', () => {
    const nonPositive = fc.oneof(
      fc.constant(ZERO),
      fc.constant(d('-0')),
      fillQuantity.map((x) => x.negated()),
    );
    fc.assert(
      fc.property(nonPositive, fillQuantity, fillPrice, (bad, goodQuantity, goodPrice) => {
        const state: FillState = { quantity: d('100'), filledQuantity: d('40'), averageFillPrice: d('167.41') };
        expect(() => applyFill(state, bad, goodPrice)).toThrow(RangeError);
        expect(() => applyFill(state, goodQuantity, bad)).toThrow(RangeError);
        expect(state.filledQuantity.eq(40)).toBe(true);
      }),
    );
  });
});

describe('applyFill examples', () => {
  it('SPY: 100 @ 167.41 then 50 @ 167.44 of 150 is filled at 167.42', () => {
    const first = applyFill(emptyState(d('150')), d('100'), d('167.41'));
    expect(first).toMatchObject({ complete: false, overfill: false });
    expect(first.averageFillPrice?.toFixed()).toBe('167.41');
    expect(first.leavesQuantity.toFixed()).toBe('50');

    const second = applyFill(first, d('50'), d('167.44'));
    expect(second).toMatchObject({ complete: true, overfill: false });
    expect(second.filledQuantity.toFixed()).toBe('150');
    expect(second.leavesQuantity.toFixed()).toBe('0');
    expect(second.averageFillPrice?.toFixed()).toBe('167.42');
  });

  it('an overfill is applied, flagged, and leaves zero', () => {
    const result = applyFill(
      { quantity: d('10'), filledQuantity: d('8'), averageFillPrice: d('5.1') },
      d('3'),
      d('5.2'),
    );
    expect(result).toMatchObject({ complete: true, overfill: true });
    expect(result.filledQuantity.toFixed()).toBe('11');
    expect(result.leavesQuantity.toFixed()).toBe('0');
  });

  it('regression: eight fills give the rounded VWAP, not a drifted running average', () => {
    const sequence = '81@75.1502 56@85.7084 53@76.9551 83@48.2604 79@97.8513 45@12.2162 7@14.8536 51@1.5393';
    let state: FillState = emptyState(d('455'));
    for (const fill of sequence.split(' ')) {
      const [quantity, price] = fill.split('@') as [string, string];
      state = applyFill(state, d(quantity), d(price));
    }
    // VWAP = 60.293475384615384...; rounding the running average at each fill gave 60.2934753844.
    expect(state.averageFillPrice?.toFixed()).toBe('60.2934753846');
  });
});

describe('leavesQuantity', () => {
  const state: FillState = { quantity: d('10'), filledQuantity: d('4'), averageFillPrice: d('1') };
  it('is quantity − filled while working, and zero once done (FIX LeavesQty on a terminal order)', () => {
    expect(leavesQuantity(state, true).toFixed()).toBe('6');
    expect(leavesQuantity(state, false).toFixed()).toBe('0');
    expect(leavesQuantity({ ...state, filledQuantity: d('12') }, true).toFixed()).toBe('0');
  });
});
