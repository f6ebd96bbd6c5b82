import { describe, expect, it } from 'vitest';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, working, workingOrders } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { maxWorkingOrdersCheck } from './max-working-orders.check.js';

const max3: RiskLimits = { ...limits, maxWorkingOrders: 3 };

describe('maxWorkingOrdersCheck (maxWorkingOrders 3)', () => {
  it.each([
    ['none working', intent(), context({ workingOrders: [] }), max3, 'approved'],
    ['2 working: the 3rd is allowed', intent(), context({ workingOrders: workingOrders(2) }), max3, 'approved'],
    [
      '3 working: a 4th is not',
      intent(),
      context({ workingOrders: workingOrders(3) }),
      max3,
      'risk.max_working_orders',
    ],
    ['10 working', intent(), context({ workingOrders: workingOrders(10) }), max3, 'risk.max_working_orders'],
    [
      'all symbols count: 3 working in QQQ, an order in SPY',
      intent(),
      context({ workingOrders: workingOrders(3, { symbol: 'QQQ' }) }),
      max3,
      'risk.max_working_orders',
    ],
    [
      'exits count too: long 100, 3 working, sell 100',
      intent({ side: 'sell' }),
      context({ positionQuantity: d('100'), workingOrders: workingOrders(3) }),
      max3,
      'risk.max_working_orders',
    ],
    [
      'an unknown order counts: 2 working + 1 unknown',
      intent(),
      context({ workingOrders: [...workingOrders(2), working({ side: 'sell', type: 'market', limitPrice: null })] }),
      max3,
      'risk.max_working_orders',
    ],
    [
      'a maximum of 0: nothing',
      intent(),
      context({ workingOrders: [] }),
      { ...limits, maxWorkingOrders: 0 },
      'risk.max_working_orders',
    ],
    [
      'a maximum of 1, none working',
      intent(),
      context({ workingOrders: [] }),
      { ...limits, maxWorkingOrders: 1 },
      'approved',
    ],
    ['no limit', intent(), context({ workingOrders: workingOrders(500) }), limits, 'approved'],
    ['no working orders in the context', intent(), context(), { ...limits, maxWorkingOrders: 0 }, 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, lim, expected) => {
    expect(outcome(maxWorkingOrdersCheck(order, ctx, lim))).toBe(expected);
  });

  it('says why', () => {
    expect(maxWorkingOrdersCheck(intent(), context({ workingOrders: workingOrders(3) }), max3)).toEqual({
      kind: 'denied',
      code: 'risk.max_working_orders',
      reason: 'the account has 3 working orders and the maximum is 3: cancel or replace one first (exits count too)',
    });
  });
});
