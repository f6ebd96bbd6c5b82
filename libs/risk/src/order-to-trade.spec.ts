import { describe, expect, it } from 'vitest';
import { orderToTradeRatio, otrCeilingReached, type OrderToTradeCounts } from './order-to-trade.js';
import { d } from './testing/risk-fixtures.js';

const counts = (orders: number, modifications: number, cancellations: number, trades: number): OrderToTradeCounts => ({
  orders,
  modifications,
  cancellations,
  trades,
});

describe('orderToTradeRatio', () => {
  it.each([
    ['nothing at all', counts(0, 0, 0, 0), '0'],
    ['one order, no trade (no trades count as one)', counts(1, 0, 0, 0), '1'],
    ['40 messages, no trade', counts(20, 10, 10, 0), '40'],
    ['40 messages, one trade', counts(20, 10, 10, 1), '40'],
    ['40 messages, 4 trades', counts(20, 10, 10, 4), '10'],
    ['10 messages, 3 trades', counts(5, 3, 2, 3), '3.333333333333333333333333333333333333333'],
    ['more trades than orders (partial fills)', counts(2, 0, 0, 5), '0.4'],
  ] as const)('%s → %s', (_name, c, expected) => {
    expect(orderToTradeRatio(c).toFixed()).toBe(expected);
  });

  it.each([
    ['negative', counts(-1, 0, 0, 0)],
    ['fractional', counts(1.5, 0, 0, 0)],
    ['NaN', counts(1, Number.NaN, 0, 0)],
    ['negative trades', counts(1, 0, 0, -1)],
  ] as const)('refuses a %s count (a bug)', (_name, c) => {
    expect(() => orderToTradeRatio(c)).toThrow(RangeError);
  });
});

describe('otrCeilingReached (ceiling 50)', () => {
  it.each([
    ['49 messages, no trade', counts(49, 0, 0, 0), false],
    ['50 messages, no trade: at the ceiling', counts(30, 10, 10, 0), true],
    ['51 messages, no trade', counts(51, 0, 0, 0), true],
    ['99 messages, 2 trades (49.5)', counts(99, 0, 0, 2), false],
    ['100 messages, 2 trades (50)', counts(90, 5, 5, 2), true],
  ] as const)('%s → %s', (_name, c, expected) => {
    expect(otrCeilingReached(c, d('50'))).toBe(expected);
  });
});
