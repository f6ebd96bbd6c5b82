import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import { context, d, intent, limits, spxwContext, spxwIntent, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { productCheck, symbolProduct } from './product.check.js';

const NDX_CALL = 'NDX   210104C12800000';
const ndx = (extra: Partial<OrderIntent> = {}) => spxwIntent({ symbol: NDX_CALL, ...extra });

describe('productCheck', () => {
  it.each([
    // supported products
    ['SPY shares', intent(), context(), 'approved'],
    ['AAPL shares (generic US equity)', intent({ symbol: 'AAPL', limitPrice: d('130') }), context(), 'approved'],
    ['an SPXW call', spxwIntent(), spxwContext(), 'approved'],
    ['an SPXW call, unpadded', spxwIntent({ symbol: 'SPXW210104C03700000' }), spxwContext(), 'approved'],
    ['an SPX call', spxwIntent({ symbol: 'SPX   210115C03700000' }), spxwContext(), 'approved'],
    ['an XSP call', spxwIntent({ symbol: 'XSP   210104C00370000' }), spxwContext(), 'approved'],
    ['a SPY put', spxwIntent({ symbol: 'SPY   210104P00370000' }), spxwContext(), 'approved'],
    ['a QQQ call', spxwIntent({ symbol: 'QQQ   210104C00310000' }), spxwContext(), 'approved'],
    ['an IWM call', spxwIntent({ symbol: 'IWM   210104C00200000' }), spxwContext(), 'approved'],
    // an option on another root: entries denied
    ['an NDX call, flat', ndx(), spxwContext(), 'risk.unknown_product'],
    ['an AAPL call, flat', ndx({ symbol: 'AAPL  210115C00130000' }), spxwContext(), 'risk.unknown_product'],
    [
      'an NDX call, long 5, buy 1 more',
      ndx({ quantity: d('1') }),
      spxwContext({ positionQuantity: d('5') }),
      'risk.unknown_product',
    ],
    // exits pass: long 5, sell up to 5 (working sells counted)
    [
      'an NDX call, long 5, sell 5',
      ndx({ side: 'sell', quantity: d('5') }),
      spxwContext({ positionQuantity: d('5') }),
      'approved',
    ],
    [
      'an NDX call, long 5, sell 6 (flips)',
      ndx({ side: 'sell', quantity: d('6') }),
      spxwContext({ positionQuantity: d('5') }),
      'risk.unknown_product',
    ],
    [
      'an NDX call, long 5, working sell 2, sell 3',
      ndx({ side: 'sell', quantity: d('3') }),
      spxwContext({
        positionQuantity: d('5'),
        workingOrders: [working({ symbol: NDX_CALL, side: 'sell', leavesQuantity: d('2') })],
      }),
      'approved',
    ],
    [
      'an NDX call, long 5, working sell 2, sell 4',
      ndx({ side: 'sell', quantity: d('4') }),
      spxwContext({
        positionQuantity: d('5'),
        workingOrders: [working({ symbol: NDX_CALL, side: 'sell', leavesQuantity: d('2') })],
      }),
      'risk.unknown_product',
    ],
    // not a symbol at all (the edge refuses these: a bug, failed closed)
    ['an unparsable symbol', intent({ symbol: 'NOT A SYMBOL' }), context(), 'risk.unknown_product'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(productCheck(order, ctx, limits))).toBe(expected);
  });

  it('says why', () => {
    expect(productCheck(ndx(), spxwContext(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.unknown_product',
      reason:
        'NDX   210104C12800000 (root:NDX) is not a supported product (options on SPX, SPXW, XSP, SPY, QQQ and ' +
        'IWM are): only exits of an existing position are accepted, and buy 10 would open a position from flat',
    });
    const junk = productCheck(intent({ symbol: 'spy!' }), context(), limits);
    expect(junk.kind === 'denied' && junk.reason).toContain(
      'spy! is neither an equity ticker nor an OSI option symbol',
    );
  });

  it('resolves a symbol to its instrument and product', () => {
    expect(symbolProduct('SPXW210104C03700000')?.product?.key).toBe('root:SPXW');
    expect(symbolProduct(NDX_CALL)?.product).toBeNull();
    expect(symbolProduct(NDX_CALL)?.instrument.kind).toBe('option');
    expect(symbolProduct('nope')).toBeNull();
  });
});
