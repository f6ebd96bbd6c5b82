import { describe, expect, it } from 'vitest';
import { context, d, intent, limits, spxwContext, spxwIntent } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { maxQuantityCheck } from './max-quantity.check.js';

describe('maxQuantityCheck (maxOrderQuantity 10000)', () => {
  it.each([
    ['SPY 100', intent(), context(), 'approved'],
    ['SPY 10000, at the limit', intent({ quantity: d('10000') }), context(), 'approved'],
    ['SPY 10000.0001 fractional, just over', intent({ quantity: d('10000.0001') }), context(), 'risk.max_quantity'],
    ['SPY 10001', intent({ quantity: d('10001') }), context(), 'risk.max_quantity'],
    [
      'SPXW 10000 contracts: counted in contracts, not × 100',
      spxwIntent({ quantity: d('10000') }),
      spxwContext(),
      'approved',
    ],
    ['SPXW 10001 contracts', spxwIntent({ quantity: d('10001') }), spxwContext(), 'risk.max_quantity'],
    [
      'SPY market sell 10001',
      intent({ side: 'sell', type: 'market', limitPrice: null, quantity: d('10001') }),
      context(),
      'risk.max_quantity',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(maxQuantityCheck(order, ctx, limits))).toBe(expected);
  });

  it('uses the limit it is given, and says why', () => {
    const tight = { ...limits, maxOrderQuantity: d('5') };
    expect(outcome(maxQuantityCheck(spxwIntent({ quantity: d('5') }), spxwContext(), tight))).toBe('approved');
    expect(maxQuantityCheck(spxwIntent({ quantity: d('6') }), spxwContext(), tight)).toEqual({
      kind: 'denied',
      code: 'risk.max_quantity',
      reason: 'quantity 6 is above the maximum of 5 per order',
    });
  });
});
