import { describe, expect, it } from 'vitest';
import type { RecentOrder } from './snapshot.js';
import { executionFigures } from './state-reader.js';

const NOW = 1_800_000_000_000;
const order = (o: Partial<RecentOrder>): RecentOrder => ({
  id: 'o',
  clientOrderId: 'c',
  symbol: 'SPY',
  side: 'buy',
  type: 'market',
  quantity: '10',
  filledQuantity: '10',
  limitPrice: null,
  averageFillPrice: '100.02',
  intentMid: '100.00',
  status: 'filled',
  createdAt: NOW - 1_000,
  updatedAt: NOW - 900,
  ...o,
});

describe('executionFigures: net expected value of fills', () => {
  it('sums side × (mid at intent − fill price) × quantity × multiplier over the filled orders', () => {
    const figures = executionFigures(
      [
        // Bought 10 at 100.02 against a mid of 100.00: −0.20.
        order({}),
        // Sold 4 at 50.10 against a mid of 50.00: +0.40.
        order({ side: 'sell', quantity: '4', filledQuantity: '4', averageFillPrice: '50.10', intentMid: '50.00' }),
        // One SPXW option contract (multiplier 100) bought at 1.10 against a mid of 1.05: −5.00.
        order({
          symbol: 'SPXW261218C06000000',
          quantity: '1',
          filledQuantity: '1',
          averageFillPrice: '1.10',
          intentMid: '1.05',
        }),
        // No mid at intent: counted beside the figure, not in it; unfilled and denied orders: not at all.
        order({ intentMid: null }),
        order({ filledQuantity: '0', averageFillPrice: null, status: 'new' }),
        order({ status: 'denied', filledQuantity: '0', averageFillPrice: null }),
      ],
      NOW,
      null,
    );
    expect(figures).toMatchObject({ netExpectedValue: '-4.80', filledValued: 3, filledUnvalued: 1 });
  });

  it('is null without a filled order that has a mid at intent', () => {
    expect(executionFigures([order({ intentMid: null })], NOW, null).netExpectedValue).toBeNull();
  });
});
