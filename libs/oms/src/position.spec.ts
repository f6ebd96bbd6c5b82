import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal } from './decimal.js';
import type { OrderSide } from './order.js';
import { applyFillToPosition, flatPosition, type Position } from './position.js';

/** A positive decimal built as an integer scaled by a power of ten: never a JS float. */
const positiveDecimal = (maxInteger: number, maxScale: number): fc.Arbitrary<Decimal> =>
  fc
    .tuple(fc.integer({ min: 1, max: maxInteger }), fc.integer({ min: 0, max: maxScale }))
    .map(([n, scale]) => new Decimal(n).dividedBy(new Decimal(10).pow(scale)));

const quantity = positiveDecimal(100_000, 2);
const price = positiveDecimal(10_000_000, 4);
const multiplier = fc.constantFrom(new Decimal(1), new Decimal(100));
const side = fc.constantFrom<OrderSide>('buy', 'sell');
const fill = fc.record({ side, quantity, price });
const ZERO = new Decimal(0);

function d(text: string): Decimal {
  return new Decimal(text);
}

function signed(s: OrderSide, q: Decimal): Decimal {
  return s === 'buy' ? q : q.negated();
}

/** Splits `total` into 1–4 positive parts that sum to it exactly. */
function splits(total: Decimal): fc.Arbitrary<Decimal[]> {
  return fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 4 }).map((weights) => {
    const sum = weights.reduce((a, b) => a + b, 0);
    const parts = weights.slice(0, -1).map((w) => total.times(w).dividedBy(sum).toDecimalPlaces(6, Decimal.ROUND_DOWN));
    const rest = parts.reduce((acc, p) => acc.minus(p), total);
    return [...parts, rest].filter((p) => !p.isZero());
  });
}

describe('applyFillToPosition properties', () => {
  it('quantity is the signed sum of the fills, whatever the order of buys and sells', () => {
    fc.assert(
      fc.property(fc.array(fill, { maxLength: 30 }), multiplier, (fs, m) => {
        let position = flatPosition('SPY');
        let expected = ZERO;
        for (const f of fs) {
          position = applyFillToPosition(position, f.side, f.quantity, f.price, m);
          expected = expected.plus(signed(f.side, f.quantity));
          expect(position.quantity.eq(expected)).toBe(true);
          // Flat means no open price; otherwise the open price is a positive price.
          expect(position.averagePrice.isZero()).toBe(position.quantity.isZero());
          expect(position.averagePrice.isNegative()).toBe(false);
        }
      }),
    );
  });

  it('a round trip realises (sell − buy) × quantity × multiplier exactly, long or short, in any split', () => {
    const roundTrip = fc
      .record({ q: quantity, buyPrice: price, sellPrice: price, m: multiplier, openWith: side })
      .chain((r) => fc.tuple(fc.constant(r), splits(r.q), splits(r.q)));
    fc.assert(
      fc.property(roundTrip, ([{ q, buyPrice, sellPrice, m, openWith }, openParts, closeParts]) => {
        const closeWith: OrderSide = openWith === 'buy' ? 'sell' : 'buy';
        const priceOf = (s: OrderSide) => (s === 'buy' ? buyPrice : sellPrice);
        let position = flatPosition('SPXW  210104C03700000');
        for (const part of openParts) {
          position = applyFillToPosition(position, openWith, part, priceOf(openWith), m);
        }
        expect(position.quantity.abs().eq(q)).toBe(true);
        expect(position.averagePrice.eq(priceOf(openWith))).toBe(true);
        for (const part of closeParts) {
          position = applyFillToPosition(position, closeWith, part, priceOf(closeWith), m);
        }
        expect(position.quantity.isZero()).toBe(true);
        expect(position.averagePrice.isZero()).toBe(true);
        expect(position.realizedPnl.eq(sellPrice.minus(buyPrice).times(q).times(m))).toBe(true);
      }),
    );
  });

  it('a fill through the position closes it (realising P&L) and opens the remainder the other way at the fill price', () => {
    fc.assert(
      fc.property(
        side,
        quantity,
        quantity,
        price,
        price,
        multiplier,
        (openWith, open, beyond, openPrice, flipPrice, m) => {
          const flipWith: OrderSide = openWith === 'buy' ? 'sell' : 'buy';
          const opened = applyFillToPosition(flatPosition('SPY'), openWith, open, openPrice, m);
          const flipped = applyFillToPosition(opened, flipWith, open.plus(beyond), flipPrice, m);
          expect(flipped.quantity.eq(signed(flipWith, beyond))).toBe(true);
          expect(flipped.averagePrice.eq(flipPrice)).toBe(true);
          const perUnit = openWith === 'buy' ? flipPrice.minus(openPrice) : openPrice.minus(flipPrice);
          expect(flipped.realizedPnl.eq(perUnit.times(open).times(m))).toBe(true);
        },
      ),
    );
  });

  it('ending flat, realised P&L is (Σ sells − Σ buys) × multiplier, up to the rounding of average prices', () => {
    const flatSequence = fc.array(fill, { minLength: 1, maxLength: 20 }).map((fs) => {
      const net = fs.reduce((acc, f) => acc.plus(signed(f.side, f.quantity)), ZERO);
      return net.isZero()
        ? fs
        : [...fs, { side: net.isPositive() ? 'sell' : 'buy', quantity: net.abs(), price: d('100') } as const];
    });
    fc.assert(
      fc.property(flatSequence, multiplier, (fs, m) => {
        let position = flatPosition('SPY');
        let cash = ZERO;
        let traded = ZERO;
        for (const f of fs) {
          position = applyFillToPosition(position, f.side, f.quantity, f.price, m);
          cash = cash.plus(signed(f.side, f.quantity).negated().times(f.price));
          traded = traded.plus(f.quantity);
        }
        expect(position.quantity.isZero()).toBe(true);
        // Each average-price rounding is at most 0.5e-10 per unit still open.
        const tolerance = new Decimal('1e-10').times(fs.length).times(traded).times(m);
        expect(position.realizedPnl.minus(cash.times(m)).abs().lte(tolerance)).toBe(true);
      }),
    );
  });
});

describe('applyFillToPosition: SPXW options, multiplier 100', () => {
  const m = d('100');
  type Step = [OrderSide, string, string, { quantity: string; averagePrice: string; realizedPnl: string }];
  const steps: Step[] = [
    ['buy', '2', '5.10', { quantity: '2', averagePrice: '5.1', realizedPnl: '0' }],
    ['buy', '1', '5.40', { quantity: '3', averagePrice: '5.2', realizedPnl: '0' }],
    // Sell 1 of 3: (6.00 − 5.20) × 1 × 100 = 80; the open price stays.
    ['sell', '1', '6.00', { quantity: '2', averagePrice: '5.2', realizedPnl: '80' }],
    // Sell 4 of 2: closes 2 at (4.50 − 5.20) × 2 × 100 = −140, opens 2 short at 4.50.
    ['sell', '4', '4.50', { quantity: '-2', averagePrice: '4.5', realizedPnl: '-60' }],
    // Buy to cover 2 at 4.00: (4.50 − 4.00) × 2 × 100 = +100.
    ['buy', '2', '4.00', { quantity: '0', averagePrice: '0', realizedPnl: '40' }],
    // Short again from flat: a new open price, realised P&L carried.
    ['sell', '3', '3.75', { quantity: '-3', averagePrice: '3.75', realizedPnl: '40' }],
    ['sell', '1', '3.55', { quantity: '-4', averagePrice: '3.7', realizedPnl: '40' }],
  ];

  it('follows the table step by step', () => {
    let position: Position = flatPosition('SPXW  210104C03700000');
    for (const [s, q, p, expected] of steps) {
      position = applyFillToPosition(position, s, d(q), d(p), m);
      expect({
        quantity: position.quantity.toFixed(),
        averagePrice: position.averagePrice.toFixed(),
        realizedPnl: position.realizedPnl.toFixed(),
      }).toEqual(expected);
    }
    expect(position.symbol).toBe('SPXW  210104C03700000');
  });

  it.each([
    // [open side, open qty, open px, close side, close qty, close px, realised]
    ['buy', '10', '5.00', 'sell', '10', '7.35', '2350'],
    ['buy', '10', '5.00', 'sell', '10', '0.05', '-4950'],
    ['sell', '5', '12.40', 'buy', '5', '0.05', '6175'],
    ['sell', '5', '12.40', 'buy', '5', '20.00', '-3800'],
  ] as const)('%s %s @ %s, %s %s @ %s realises %s USD', (os, oq, op, cs, cq, cp, realised) => {
    const opened = applyFillToPosition(flatPosition('SPXW  210104C03700000'), os, d(oq), d(op), m);
    const closed = applyFillToPosition(opened, cs, d(cq), d(cp), m);
    expect(closed.quantity.isZero()).toBe(true);
    expect(closed.realizedPnl.toFixed()).toBe(realised);
  });
});
