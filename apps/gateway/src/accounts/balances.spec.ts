import { Decimal, type Position } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { multiplierOf } from '../market/position-valuation.js';
import { computePaperBalances } from './balances.js';

const OPTION = 'SPXW  210104C03700000';
const d = (v: string) => new Decimal(v);
const position = (symbol: string, quantity: string, averagePrice: string): Position => ({
  symbol,
  quantity: d(quantity),
  averagePrice: d(averagePrice),
  realizedPnl: d('0'),
});

describe('computePaperBalances', () => {
  it('moves cash by every fill times its multiplier, and adds the positions at their mark to equity', () => {
    const b = computePaperBalances({
      startingCash: d('100000'),
      flows: [
        { symbol: 'SPY', side: 'buy', notional: d('4010.50') }, // 10 @ 401.05
        { symbol: 'SPY', side: 'sell', notional: d('1604.40') }, // 4 @ 401.10
        { symbol: OPTION, side: 'buy', notional: d('10.40') }, // 2 @ 5.20 → 1040 USD
      ],
      positions: [position('SPY', '6', '401.05'), position(OPTION, '2', '5.20')],
      multiplierOf,
      marketValueOf: (p) => (p.symbol === 'SPY' ? d('2412') : d('1100')),
      asOf: 1_700_000_000_000,
    });
    expect(b.cash.toString()).toBe('96553.9');
    expect(b.equity.toString()).toBe(new Decimal('96553.9').plus(2412).plus(1100).toString());
    expect(b.buyingPower.toString()).toBe('96553.9');
    expect(b).toMatchObject({ currency: 'USD', source: 'computed', asOf: 1_700_000_000_000 });
  });

  it('counts a position without a current quote at its cost, never at 0', () => {
    const b = computePaperBalances({
      startingCash: d('1000'),
      flows: [{ symbol: OPTION, side: 'buy', notional: d('5') }],
      positions: [position(OPTION, '1', '5'), position('SPY', '0', '0')],
      multiplierOf,
      marketValueOf: () => null,
      asOf: 0,
    });
    expect(b.cash.toString()).toBe('500');
    expect(b.equity.toString()).toBe('1000');
  });

  it('floors buying power at 0 when cash is negative', () => {
    const b = computePaperBalances({
      startingCash: d('100'),
      flows: [{ symbol: 'SPY', side: 'buy', notional: d('400') }],
      positions: [position('SPY', '1', '400')],
      multiplierOf,
      marketValueOf: () => d('400'),
      asOf: 0,
    });
    expect(b.cash.toString()).toBe('-300');
    expect(b.buyingPower.toString()).toBe('0');
  });
});
