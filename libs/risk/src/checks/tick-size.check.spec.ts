import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import { context, d, intent, limits, spxwContext, spxwIntent } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { tickSizeCheck } from './tick-size.check.js';

const spxw = (limit: string, extra: Partial<OrderIntent> = {}) => spxwIntent({ limitPrice: d(limit), ...extra });
const option = (symbol: string, limit: string) => spxwIntent({ symbol, limitPrice: d(limit) });
const XSP = 'XSP   210104C00370000';
const SPY_PUT = 'SPY   210104P00370000';
const SPX = 'SPX   210115C03700000';

describe('tickSizeCheck', () => {
  it.each([
    // SPXW and SPX: 0.05 below 3.00, 0.10 from 3.00
    ['SPXW 2.95', spxw('2.95'), 'approved'],
    ['SPXW 2.96', spxw('2.96'), 'risk.tick_size'],
    ['SPXW 3.00', spxw('3.00'), 'approved'],
    ['SPXW 3.05 (a nickel above 3.00)', spxw('3.05'), 'risk.tick_size'],
    ['SPXW 4.90', spxw('4.90'), 'approved'],
    ['SPXW 4.95', spxw('4.95'), 'risk.tick_size'],
    ['SPXW 4.9000001', spxw('4.9000001'), 'risk.tick_size'],
    ['SPX 0.05', option(SPX, '0.05'), 'approved'],
    ['SPX 0.07', option(SPX, '0.07'), 'risk.tick_size'],
    // XSP and the ETF options: 0.01 at every price
    ['XSP 3.27', option(XSP, '3.27'), 'approved'],
    ['XSP 3.275', option(XSP, '3.275'), 'risk.tick_size'],
    ['SPY put 4.93', option(SPY_PUT, '4.93'), 'approved'],
    ['SPY put 4.935', option(SPY_PUT, '4.935'), 'risk.tick_size'],
    // shares: 0.01 from 1.00, 0.0001 below
    ['SPY 167.41', intent(), 'approved'],
    ['SPY 167.415', intent({ limitPrice: d('167.415') }), 'risk.tick_size'],
    ['AAPL 1.00', intent({ symbol: 'AAPL', limitPrice: d('1.00') }), 'approved'],
    ['AAPL 1.0001', intent({ symbol: 'AAPL', limitPrice: d('1.0001') }), 'risk.tick_size'],
    ['AAPL 0.9999', intent({ symbol: 'AAPL', limitPrice: d('0.9999') }), 'approved'],
    ['AAPL 0.99995', intent({ symbol: 'AAPL', limitPrice: d('0.99995') }), 'risk.tick_size'],
    // stop prices too
    ['SPY stop 170.00', intent({ type: 'stop', limitPrice: null, stopPrice: d('170.00') }), 'approved'],
    ['SPY stop 170.005', intent({ type: 'stop', limitPrice: null, stopPrice: d('170.005') }), 'risk.tick_size'],
    ['SPXW stop_limit, stop 5.00, limit 5.10', spxw('5.10', { type: 'stop_limit', stopPrice: d('5.00') }), 'approved'],
    [
      'SPXW stop_limit, stop 5.05, limit 5.10',
      spxw('5.10', { type: 'stop_limit', stopPrice: d('5.05') }),
      'risk.tick_size',
    ],
    // nothing to check
    ['a market order', spxwIntent({ type: 'market', limitPrice: null }), 'approved'],
    ['an unsupported product: left to the product check', option('NDX   210104C12800000', '4.93'), 'approved'],
    // exits too: an off-tick exit cannot trade either
    ['an SPXW exit at 4.93', spxw('4.93', { side: 'sell', positionEffect: 'close' }), 'risk.tick_size'],
  ] as const)('%s → %s', (_name, order, expected) => {
    expect(outcome(tickSizeCheck(order, spxwContext({ positionQuantity: d('10') }), limits))).toBe(expected);
  });

  it('names the tick and the nearest valid prices', () => {
    const reason = (order: OrderIntent) => {
      const decision = tickSizeCheck(order, context(), limits);
      return decision.kind === 'denied' ? decision.reason : null;
    };
    expect(reason(spxw('4.93'))).toBe(
      'limit price 4.93 is not a multiple of the 0.1 tick of root:SPXW at that price: the nearest valid prices are 4.9 and 5',
    );
    expect(reason(spxw('2.97'))).toBe(
      'limit price 2.97 is not a multiple of the 0.05 tick of root:SPXW at that price: the nearest valid prices are 2.95 and 3',
    );
    expect(reason(intent({ type: 'stop', limitPrice: null, stopPrice: d('170.005') }))).toBe(
      'stop price 170.005 is not a multiple of the 0.01 tick of SPY at that price: the nearest valid prices are 170 and 170.01',
    );
  });
});
