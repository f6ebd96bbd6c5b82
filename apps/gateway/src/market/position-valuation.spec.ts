import { Decimal, type MarketDataFeed, type Position, type Quote } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { currentMark, valuePosition } from './position-valuation.js';

/** A feed of fixed quotes, each of a fixed age: the valuation reads nothing else of it. */
function feed(quotes: Record<string, { bid: string; ask: string; last?: string; ageMs: number }>): MarketDataFeed {
  const made = new Map<string, { quote: Quote; ageMs: number }>(
    Object.entries(quotes).map(([symbol, q]) => [
      symbol,
      {
        quote: {
          symbol,
          bid: new Decimal(q.bid),
          ask: new Decimal(q.ask),
          bidSize: new Decimal(1),
          askSize: new Decimal(1),
          last: q.last === undefined ? null : new Decimal(q.last),
          ts: 0,
          source: 'test',
        },
        ageMs: q.ageMs,
      },
    ]),
  );
  return {
    getQuote: (symbol) => made.get(symbol)?.quote,
    symbols: () => [...made.keys()],
    quoteAgeMs: (quote) => made.get(quote.symbol)!.ageMs,
    marketNow: () => null,
    onQuote: () => () => {},
  };
}

const position = (symbol: string, quantity: string, averagePrice: string): Position => ({
  symbol,
  quantity: new Decimal(quantity),
  averagePrice: new Decimal(averagePrice),
  realizedPnl: new Decimal(0),
});
const OPTION = 'SPXW  210104C03700000';

describe('valuePosition', () => {
  it('marks shares at the mid: market value and unrealised P&L in USD', () => {
    const v = valuePosition(
      position('SPY', '10', '400.00'),
      feed({ SPY: { bid: '401.00', ask: '401.10', ageMs: 0 } }),
      1000,
    );
    expect(v.mark?.toString()).toBe('401.05');
    expect(v.marketValue?.toString()).toBe('4010.5');
    expect(v.unrealizedPnl?.toString()).toBe('10.5');
  });

  it('applies the option multiplier of 100, and a short gains when the mark falls', () => {
    const v = valuePosition(
      position(OPTION, '-2', '5.00'),
      feed({ [OPTION]: { bid: '4.00', ask: '4.20', ageMs: 0 } }),
      1000,
    );
    expect(v.marketValue?.toString()).toBe('-820');
    expect(v.unrealizedPnl?.toString()).toBe('180');
  });

  it('falls back to the last trade when the quote is one-sided', () => {
    const v = valuePosition(
      position('SPY', '1', '400'),
      feed({ SPY: { bid: '0', ask: '401', last: '400.5', ageMs: 0 } }),
      1000,
    );
    expect(v.unrealizedPnl?.toString()).toBe('0.5');
  });

  it('is null without a quote, and with one older than the limit (at the limit it is current)', () => {
    const stale = feed({ SPY: { bid: '401', ask: '401.1', ageMs: 1001 } });
    expect(valuePosition(position('SPY', '1', '400'), stale, 1000)).toEqual({
      mark: null,
      marketValue: null,
      unrealizedPnl: null,
    });
    expect(valuePosition(position('QQQ', '1', '400'), stale, 1000).marketValue).toBeNull();
    const atLimit = feed({ SPY: { bid: '401', ask: '401.1', ageMs: 1000 } });
    expect(currentMark(atLimit, 'SPY', 1000)?.toString()).toBe('401.05');
  });

  it('values a flat position at 0 whatever the market', () => {
    const v = valuePosition(position('QQQ', '0', '0'), feed({}), 1000);
    expect(v.marketValue?.toString()).toBe('0');
    expect(v.unrealizedPnl?.toString()).toBe('0');
  });
});
