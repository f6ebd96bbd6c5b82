import { describe, expect, it } from 'vitest';
import { context, d, intent, working, workingOrder } from './testing/risk-fixtures.js';
import { exitReduction, workingExposure, workingOrderCount, workingQuantities } from './working-orders.js';

describe('workingQuantities', () => {
  it('sums leaves in the symbol by side, and the closing part of each', () => {
    const orders = [
      working({ leavesQuantity: d('100') }),
      working({ leavesQuantity: d('0.5'), positionEffect: 'close' }),
      working({ side: 'sell', leavesQuantity: d('30'), positionEffect: 'close' }),
      working({ side: 'sell', leavesQuantity: d('20'), positionEffect: 'open' }),
      working({ symbol: 'QQQ', leavesQuantity: d('1000'), positionEffect: 'close' }),
    ];
    const q = workingQuantities('SPY', orders);
    expect([q.buys, q.sells, q.closingBuys, q.closingSells].map((x) => x.toFixed())).toEqual([
      '100.5',
      '50',
      '0.5',
      '30',
    ]);
    const none = workingQuantities('IWM', orders);
    expect([none.buys, none.sells, none.closingBuys, none.closingSells].every((x) => x.isZero())).toBe(true);
  });
});

describe('workingExposure', () => {
  it('sums orders by symbol and side, stop orders apart by stop price', () => {
    const sums = workingExposure([
      workingOrder({ leavesQuantity: d('100'), limitPrice: d('167.41') }),
      workingOrder({ leavesQuantity: d('10'), limitPrice: d('160'), positionEffect: 'close' }),
      workingOrder({ type: 'market', leavesQuantity: d('5'), limitPrice: null }),
      workingOrder({ type: 'stop_limit', leavesQuantity: d('1'), limitPrice: d('170'), stopPrice: d('169') }),
      workingOrder({ type: 'stop', leavesQuantity: d('2'), limitPrice: null, stopPrice: d('169') }),
      workingOrder({ type: 'stop', leavesQuantity: d('3'), limitPrice: null, stopPrice: d('169.00') }),
      workingOrder({ side: 'sell', leavesQuantity: d('7'), limitPrice: d('168') }),
    ]);
    expect(
      sums.map((s) =>
        [
          s.side,
          s.stopPrice?.toFixed() ?? '-',
          s.orderCount,
          s.leavesQuantity,
          s.closingQuantity,
          s.limitNotional,
          s.marketQuantity,
        ]
          .map(String)
          .join(' '),
      ),
    ).toEqual(['buy - 4 116 10 18511 5', 'buy 169 2 5 0 0 0', 'sell - 1 7 0 1176 0']);
    expect(workingOrderCount(sums)).toBe(7);
  });
});

describe('exitReduction', () => {
  const sell = (quantity: string) => intent({ side: 'sell', quantity: d(quantity) });
  const long100 = (...workingOrders: ReturnType<typeof working>[]) =>
    context({ positionQuantity: d('100'), workingOrders });

  it('counts every working order on the side of the intent, closing or not', () => {
    expect(exitReduction(sell('50'), long100(working({ side: 'sell', leavesQuantity: d('50') }))).reduces).toBe(true);
    expect(exitReduction(sell('51'), long100(working({ side: 'sell', leavesQuantity: d('50') })))).toEqual({
      reduces: false,
      why: 'sell 51 with working sell orders of 50 would flip the long position of 100',
    });
    expect(exitReduction(sell('100'), long100(working({ leavesQuantity: d('50') }))).reduces).toBe(true);
  });

  it('knows only the confirmed position without working orders in the context', () => {
    expect(exitReduction(sell('100'), context({ positionQuantity: d('100') })).reduces).toBe(true);
    expect(exitReduction(sell('101'), context({ positionQuantity: d('100') })).reduces).toBe(false);
  });
});
