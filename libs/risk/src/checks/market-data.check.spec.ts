import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import { context, d, intent, limits, quote, SPXW_CALL, spxwContext, spxwIntent } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { marketDataCheck } from './market-data.check.js';

const STALE = 120_001;
const long100 = (overrides: Parameters<typeof context>[0] = {}) =>
  context({ positionQuantity: d('100'), ...overrides });
const sell100 = (overrides: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d('100'), limitPrice: d('160'), ...overrides });

describe('marketDataCheck (maxQuoteAgeMs 120000)', () => {
  it.each([
    ['a 1 s old quote', intent(), context(), 'approved'],
    ['a quote exactly at the age limit', intent(), context({ quoteAgeMs: 120_000 }), 'approved'],
    ['a quote 1 ms past the age limit', intent(), context({ quoteAgeMs: STALE }), 'risk.stale_market_data'],
    ['a quote of unknown age', intent(), context({ quoteAgeMs: null }), 'risk.stale_market_data'],
    ['a NaN age', intent(), context({ quoteAgeMs: Number.NaN }), 'risk.stale_market_data'],
    ['no quote', intent(), context({ quote: undefined, quoteAgeMs: null }), 'risk.stale_market_data'],
    ['a quote of another symbol', intent(), context({ quote: quote({ symbol: 'QQQ' }) }), 'risk.stale_market_data'],
    ['a one-sided quote with a last trade', intent(), context({ quote: quote({ ask: d('0') }) }), 'approved'],
    [
      'a one-sided quote without a last trade',
      intent(),
      context({ quote: quote({ ask: d('0'), last: null }) }),
      'risk.stale_market_data',
    ],
    ['an empty book with a last trade', intent(), context({ quote: quote({ bid: d('0'), ask: d('0') }) }), 'approved'],
    [
      'a crossed quote without a last trade',
      intent(),
      context({ quote: quote({ bid: d('167.45'), ask: d('167.40'), last: null }) }),
      'risk.stale_market_data',
    ],
    [
      'a locked quote without a last trade',
      intent(),
      context({ quote: quote({ bid: d('167.41'), ask: d('167.41'), last: null }) }),
      'approved',
    ],
    ['SPXW, a minute bar 61 s old', spxwIntent(), spxwContext({ quoteAgeMs: 61_000 }), 'approved'],
    // exits without current data: only as limit orders that reduce without flipping
    ['stale, long 100, sell 100 limit', sell100(), long100({ quoteAgeMs: STALE }), 'approved'],
    ['no quote, long 100, sell 100 limit', sell100(), long100({ quote: undefined, quoteAgeMs: null }), 'approved'],
    [
      'stale, long 100, sell 100 stop_limit',
      sell100({ type: 'stop_limit', stopPrice: d('161') }),
      long100({ quoteAgeMs: STALE }),
      'approved',
    ],
    [
      'stale, long 100, sell 100 market',
      sell100({ type: 'market', limitPrice: null }),
      long100({ quoteAgeMs: STALE }),
      'risk.stale_market_data',
    ],
    [
      'stale, long 100, sell 100 stop',
      sell100({ type: 'stop', limitPrice: null, stopPrice: d('160') }),
      long100({ quoteAgeMs: STALE }),
      'risk.stale_market_data',
    ],
    [
      'stale, long 100, sell 101 limit (flips)',
      sell100({ quantity: d('101') }),
      long100({ quoteAgeMs: STALE }),
      'risk.stale_market_data',
    ],
    [
      'stale, long 100, buy 1 limit (increases)',
      intent({ quantity: d('1') }),
      long100({ quoteAgeMs: STALE }),
      'risk.stale_market_data',
    ],
    [
      'stale, long 100, sell 50 limit marked open',
      sell100({ quantity: d('50'), positionEffect: 'open' }),
      long100({ quoteAgeMs: STALE }),
      'risk.stale_market_data',
    ],
    ['stale, flat, buy limit', intent(), context({ quoteAgeMs: STALE }), 'risk.stale_market_data'],
    [
      'no quote, short 5 SPXW, buy 5 limit',
      spxwIntent({ quantity: d('5') }),
      spxwContext({ quote: undefined, quoteAgeMs: null, positionQuantity: d('-5') }),
      'approved',
    ],
    [
      'no quote, short 5 SPXW, buy 6 limit',
      spxwIntent({ quantity: d('6') }),
      spxwContext({ quote: undefined, quoteAgeMs: null, positionQuantity: d('-5') }),
      'risk.stale_market_data',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(marketDataCheck(order, ctx, limits))).toBe(expected);
  });

  it('uses the limit it is given', () => {
    expect(
      outcome(marketDataCheck(intent(), context({ quoteAgeMs: 5_000 }), { ...limits, maxQuoteAgeMs: 5_000 })),
    ).toBe('approved');
    expect(
      outcome(marketDataCheck(intent(), context({ quoteAgeMs: 5_001 }), { ...limits, maxQuoteAgeMs: 5_000 })),
    ).toBe('risk.stale_market_data');
  });

  it('says why', () => {
    const entry = marketDataCheck(intent(), context({ quoteAgeMs: STALE }), limits);
    expect(entry.kind === 'denied' && entry.reason).toBe(
      'the quote for SPY is 120001 ms old (limit 120000 ms): an order that does not reduce the position needs current ' +
        'market data (buy 100 would open a position from flat)',
    );
    const exit = marketDataCheck(
      spxwIntent({ side: 'sell', type: 'market', limitPrice: null }),
      spxwContext({ quote: undefined, quoteAgeMs: null, positionQuantity: d('10') }),
      limits,
    );
    expect(exit.kind === 'denied' && exit.reason).toBe(
      `no quote for ${SPXW_CALL}: an exit is accepted without current market data only as a limit order, and this is a market order`,
    );
  });
});
