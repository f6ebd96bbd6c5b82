import { describe, expect, it } from 'vitest';
import type { PaperFillListing } from './paper-order-record.js';
import { paperPositions } from './paper-positions.js';

let n = 0;
const fill = (symbol: string, side: 'buy' | 'sell', quantity: string, price: string): PaperFillListing => ({
  brokerExecutionId: `x-${++n}`,
  quantity,
  price,
  executedAt: n,
  reportedAt: n,
  liquidity: 'taker',
  clientOrderId: `c-${n}`,
  brokerOrderId: `b-${n}`,
  symbol,
  side,
});

describe('paperPositions', () => {
  it('sums the fills per symbol, signed, at the average cost, leaving flat ones out', () => {
    expect(
      paperPositions([
        fill('SPY', 'buy', '10', '100'),
        fill('SPY', 'buy', '10', '110'),
        fill('SPY', 'sell', '5', '120'),
        fill('QQQ', 'sell', '3', '300'),
        fill('AAPL', 'buy', '1', '150'),
        fill('AAPL', 'sell', '1', '151'),
      ]),
    ).toEqual([
      { symbol: 'QQQ', quantity: '-3', averagePrice: '300' },
      { symbol: 'SPY', quantity: '15', averagePrice: '105' },
    ]);
  });

  it('is empty without fills', () => {
    expect(paperPositions([])).toEqual([]);
  });
});
