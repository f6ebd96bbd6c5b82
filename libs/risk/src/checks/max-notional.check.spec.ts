import { describe, expect, it } from 'vitest';
import { parseInstrument, productOf } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import { context, d, intent, limits, quote, spxwContext, spxwIntent, spxwQuote } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { maxNotionalCheck, notionalPrice } from './max-notional.check.js';

// SPY bid 167.40 / ask 167.42; SPXW call bid 4.80 / ask 5.00, multiplier 100. Limit: 1 000 000 USD.
const spy = (quantity: string, extra: Partial<OrderIntent> = {}) => intent({ quantity: d(quantity), ...extra });
const spxw = (quantity: string, extra: Partial<OrderIntent> = {}) => spxwIntent({ quantity: d(quantity), ...extra });
const market = { type: 'market', limitPrice: null } as const;
const SELL = { side: 'sell' } as const;

describe('maxNotionalCheck (maxOrderNotional 1000000 USD)', () => {
  it.each([
    // limit orders: the limit price
    ['SPY buy 5973 @ 167.41 = 999939.93', spy('5973'), context(), 'approved'],
    ['SPY buy 5974 @ 167.41 = 1000107.34', spy('5974'), context(), 'risk.max_notional'],
    [
      'SPY buy 10000 @ 100.00 = 1000000, at the limit',
      spy('10000', { limitPrice: d('100.00') }),
      context(),
      'approved',
    ],
    ['SPY buy 10000 @ 100.0001 = 1000001', spy('10000', { limitPrice: d('100.0001') }), context(), 'risk.max_notional'],
    // the multiplier counts: 2000 × 5.01 alone is only 10020
    ['SPXW buy 2000 @ 5.00 × 100 = 1000000', spxw('2000', { limitPrice: d('5.00') }), spxwContext(), 'approved'],
    [
      'SPXW buy 2000 @ 5.01 × 100 = 1002000',
      spxw('2000', { limitPrice: d('5.01') }),
      spxwContext(),
      'risk.max_notional',
    ],
    // market orders: the ask for a buy, the bid for a sell
    ['SPXW market buy 2000 @ ask 5.00 = 1000000', spxw('2000', market), spxwContext(), 'approved'],
    [
      'SPXW market buy 2001 @ ask 5.00 = 1000500 (960480 at the bid)',
      spxw('2001', market),
      spxwContext(),
      'risk.max_notional',
    ],
    ['SPXW market sell 2083 @ bid 4.80 = 999840', spxw('2083', { ...market, ...SELL }), spxwContext(), 'approved'],
    [
      'SPXW market sell 2084 @ bid 4.80 = 1000320',
      spxw('2084', { ...market, ...SELL }),
      spxwContext(),
      'risk.max_notional',
    ],
    [
      'SPXW market sell 2001 @ bid 4.80 = 960480 (1000500 at the ask)',
      spxw('2001', { ...market, ...SELL }),
      spxwContext(),
      'approved',
    ],
    ['SPY market buy 5972 @ ask 167.42 = 999832.24', spy('5972', market), context(), 'approved'],
    ['SPY market buy 5973 @ ask 167.42 = 999999.66', spy('5973', market), context(), 'approved'],
    ['SPY market buy 5974 @ ask 167.42 = 1000167.08', spy('5974', market), context(), 'risk.max_notional'],
    // an empty ask: the reference price (last 4.90) stands in
    [
      'SPXW market buy 2040, no ask, last 4.90 = 999600',
      spxw('2040', market),
      spxwContext({ quote: spxwQuote({ ask: d('0'), bid: d('0') }) }),
      'approved',
    ],
    [
      'SPXW market buy 2041, no ask, last 4.90 = 1000090',
      spxw('2041', market),
      spxwContext({ quote: spxwQuote({ ask: d('0'), bid: d('0') }) }),
      'risk.max_notional',
    ],
    // stop orders: the higher of the stop price and the quote's side
    [
      'SPXW buy stop 5.50 (ask 5.00), 1818 = 999900',
      spxw('1818', { type: 'stop', limitPrice: null, stopPrice: d('5.50') }),
      spxwContext(),
      'approved',
    ],
    [
      'SPXW buy stop 5.50 (ask 5.00), 1819 = 1000450',
      spxw('1819', { type: 'stop', limitPrice: null, stopPrice: d('5.50') }),
      spxwContext(),
      'risk.max_notional',
    ],
    [
      'SPXW sell stop 4.00 (bid 4.80), 2084 = 1000320 at the bid',
      spxw('2084', { ...SELL, type: 'stop', limitPrice: null, stopPrice: d('4.00') }),
      spxwContext(),
      'risk.max_notional',
    ],
    [
      'SPXW sell stop 4.00 (bid 4.80), 2083 = 999840',
      spxw('2083', { ...SELL, type: 'stop', limitPrice: null, stopPrice: d('4.00') }),
      spxwContext(),
      'approved',
    ],
    [
      'SPXW buy stop 5.50, no quote: the stop price, 1819',
      spxw('1819', { type: 'stop', limitPrice: null, stopPrice: d('5.50') }),
      spxwContext({ quote: undefined, quoteAgeMs: null }),
      'risk.max_notional',
    ],
    // stop_limit: the limit price
    [
      'SPXW buy stop_limit 5.40 / limit 5.50, 1818',
      spxw('1818', { type: 'stop_limit', stopPrice: d('5.40'), limitPrice: d('5.50') }),
      spxwContext(),
      'approved',
    ],
    [
      'SPXW buy stop_limit 5.40 / limit 5.50, 1819',
      spxw('1819', { type: 'stop_limit', stopPrice: d('5.40'), limitPrice: d('5.50') }),
      spxwContext(),
      'risk.max_notional',
    ],
    // nothing to value a market order at: fail closed
    [
      'SPY market buy without a quote',
      spy('1', market),
      context({ quote: undefined, quoteAgeMs: null }),
      'risk.stale_market_data',
    ],
    [
      'SPY market buy, quote without any price',
      spy('1', market),
      context({ quote: quote({ bid: d('0'), ask: d('0'), last: null }) }),
      'risk.stale_market_data',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(maxNotionalCheck(order, ctx, limits))).toBe(expected);
  });

  it('says why, in USD', () => {
    expect(maxNotionalCheck(spxw('2001', market), spxwContext(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.max_notional',
      reason: 'notional 1000500 USD (2001 × 5 × 100) is above the maximum of 1000000 USD per order',
    });
  });

  it('notionalPrice: limit price, touch or the worse of stop and touch', () => {
    const q = spxwQuote();
    expect(notionalPrice(spxw('1'), q)?.toFixed()).toBe('4.9');
    expect(notionalPrice(spxw('1', market), q)?.toFixed()).toBe('5');
    expect(notionalPrice(spxw('1', { ...market, ...SELL }), q)?.toFixed()).toBe('4.8');
    expect(notionalPrice(spxw('1', { type: 'stop', limitPrice: null, stopPrice: d('4.50') }), q)?.toFixed()).toBe('5');
    expect(notionalPrice(spxw('1', market), undefined)).toBeNull();
  });

  it('treats an order without the price its type needs as a bug', () => {
    expect(() => maxNotionalCheck(spxw('1', { limitPrice: null }), spxwContext(), limits)).toThrow(TypeError);
  });
});

describe('maxNotionalCheck for XSP (Mini-SPX: one tenth of the SPX index, multiplier 100 all the same)', () => {
  const XSP_CALL = 'XSP   210104C00370000';
  const instrument = parseInstrument(XSP_CALL)!;
  const multiplier = productOf(instrument)!.multiplier;
  const xsp = (quantity: string, limitPrice: string) =>
    intent({ symbol: XSP_CALL, quantity: d(quantity), limitPrice: d(limitPrice), multiplier });
  const xspContext = context({ quote: quote({ symbol: XSP_CALL, bid: d('4.90'), ask: d('5.10'), last: d('5.00') }) });

  it('takes its multiplier, 100, from the product table', () => {
    expect(multiplier).toEqual(d('100'));
  });

  it.each([
    ['XSP buy 2000 @ 5.00 × 100 = 1000000, at the limit', xsp('2000', '5.00'), 'approved'],
    ['XSP buy 2000 @ 5.01 × 100 = 1002000', xsp('2000', '5.01'), 'risk.max_notional'],
  ])('%s → %s', (_name, order, expected) => {
    expect(outcome(maxNotionalCheck(order, xspContext, limits))).toBe(expected);
  });
});
