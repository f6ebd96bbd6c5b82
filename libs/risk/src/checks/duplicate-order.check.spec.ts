import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RecentOrder, RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import {
  context,
  d,
  intent,
  limits,
  NOW,
  recentOrder,
  recentOrderLike,
  spxwContext,
  spxwIntent,
} from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { duplicateOrderCheck } from './duplicate-order.check.js';

const window2s: RiskLimits = { ...limits, duplicateWindowMs: 2_000 };
const recent = (...recentOrders: RecentOrder[]): RiskContext => context({ now: NOW, recentOrders });
const market = (extra: Partial<OrderIntent> = {}) => intent({ type: 'market', limitPrice: null, ...extra });
const stop = (stopPrice: string) => intent({ type: 'stop', limitPrice: null, stopPrice: d(stopPrice) });
const stopLimit = (stopPrice: string, limitPrice: string) =>
  intent({ type: 'stop_limit', stopPrice: d(stopPrice), limitPrice: d(limitPrice) });

describe('duplicateOrderCheck (duplicateWindowMs 2000)', () => {
  it.each([
    // the window: an age at the window is inside
    ['the same order 1000 ms ago', intent(), recent(recentOrder(1_000)), 'risk.duplicate_order'],
    ['the same order 2000 ms ago (at the window)', intent(), recent(recentOrder(2_000)), 'risk.duplicate_order'],
    ['the same order 2001 ms ago', intent(), recent(recentOrder(2_001)), 'approved'],
    ['the same order 0 ms ago', intent(), recent(recentOrder(0)), 'risk.duplicate_order'],
    ['the same order 500 ms in the future (clock skew)', intent(), recent(recentOrder(-500)), 'risk.duplicate_order'],
    ['no recent orders', intent(), recent(), 'approved'],
    [
      'an old match and a fresh other order',
      intent(),
      recent(recentOrder(5_000), recentOrder(100, { side: 'sell' })),
      'approved',
    ],
    [
      'the match among others',
      intent(),
      recent(recentOrder(100, { side: 'sell' }), recentOrder(1_999)),
      'risk.duplicate_order',
    ],
    // every field must match
    ['other side', intent(), recent(recentOrder(100, { side: 'sell' })), 'approved'],
    ['other symbol', intent(), recent(recentOrder(100, { symbol: 'QQQ' })), 'approved'],
    ['quantity 101', intent(), recent(recentOrder(100, { quantity: d('101') })), 'approved'],
    ['quantity 100.0001', intent(), recent(recentOrder(100, { quantity: d('100.0001') })), 'approved'],
    [
      'quantity 100.00 (the same number)',
      intent(),
      recent(recentOrder(100, { quantity: d('100.00') })),
      'risk.duplicate_order',
    ],
    ['limit 167.42', intent(), recent(recentOrder(100, { limitPrice: d('167.42') })), 'approved'],
    [
      'limit 167.410 (the same price)',
      intent(),
      recent(recentOrder(100, { limitPrice: d('167.410') })),
      'risk.duplicate_order',
    ],
    [
      'a stop_limit with the same limit is another order',
      intent(),
      recent(recentOrder(100, { type: 'stop_limit', stopPrice: d('167') })),
      'approved',
    ],
    // prices by type
    ['market and market', market(), recent(recentOrderLike(market(), 100)), 'risk.duplicate_order'],
    [
      'market and a market order stored with a stray limit price',
      market(),
      recent(recentOrder(100, { type: 'market', limitPrice: d('1') })),
      'risk.duplicate_order',
    ],
    ['market and limit', market(), recent(recentOrder(100)), 'approved'],
    ['stop 170 and stop 170', stop('170'), recent(recentOrderLike(stop('170'), 100)), 'risk.duplicate_order'],
    ['stop 170 and stop 170.01', stop('170'), recent(recentOrderLike(stop('170.01'), 100)), 'approved'],
    [
      'stop_limit, both prices equal',
      stopLimit('170', '171'),
      recent(recentOrderLike(stopLimit('170', '171'), 100)),
      'risk.duplicate_order',
    ],
    [
      'stop_limit, other stop',
      stopLimit('170', '171'),
      recent(recentOrderLike(stopLimit('169', '171'), 100)),
      'approved',
    ],
    // exits are duplicates too: a doubled exit can flip the position
    [
      'long 100, sell 100 twice',
      intent({ side: 'sell' }),
      context({ positionQuantity: d('100'), now: NOW, recentOrders: [recentOrder(300, { side: 'sell' })] }),
      'risk.duplicate_order',
    ],
    [
      'SPXW buy 10 twice',
      spxwIntent(),
      spxwContext({ now: NOW, recentOrders: [recentOrderLike(spxwIntent(), 800)] }),
      'risk.duplicate_order',
    ],
    // off without its context
    ['no recentOrders', intent(), context({ now: NOW }), 'approved'],
    ['no now', intent(), context({ recentOrders: [recentOrder(0)] }), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(duplicateOrderCheck(order, ctx, window2s))).toBe(expected);
  });

  it('is off without the limit; a window of 0 catches only the same millisecond', () => {
    expect(outcome(duplicateOrderCheck(intent(), recent(recentOrder(0)), limits))).toBe('approved');
    const zero = { ...limits, duplicateWindowMs: 0 };
    expect(outcome(duplicateOrderCheck(intent(), recent(recentOrder(0)), zero))).toBe('risk.duplicate_order');
    expect(outcome(duplicateOrderCheck(intent(), recent(recentOrder(1)), zero))).toBe('approved');
  });

  it('says why', () => {
    expect(duplicateOrderCheck(intent(), recent(recentOrder(250)), window2s)).toEqual({
      kind: 'denied',
      code: 'risk.duplicate_order',
      reason:
        'an identical order (buy 100 SPY limit 167.41) was accepted 250 ms ago, within the duplicate window of ' +
        '2000 ms: send it again after the window if it is meant',
    });
    const stopped = duplicateOrderCheck(
      stopLimit('170', '171'),
      recent(recentOrderLike(stopLimit('170', '171'), 5)),
      window2s,
    );
    expect(stopped.kind === 'denied' && stopped.reason).toContain('(buy 100 SPY stop 170 limit 171)');
    const atMarket = duplicateOrderCheck(market(), recent(recentOrderLike(market(), 5)), window2s);
    expect(atMarket.kind === 'denied' && atMarket.reason).toContain('(buy 100 SPY at market)');
  });
});
