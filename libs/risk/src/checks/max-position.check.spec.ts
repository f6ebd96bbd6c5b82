import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext, WorkingExposure, WorkingOrderExposure } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, spxwContext, spxwIntent, spxwWorking, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { maxPositionCheck } from './max-position.check.js';

const max1000: RiskLimits = { ...limits, maxPositionQuantity: d('1000') };
const buy = (quantity: string) => intent({ quantity: d(quantity) });
const sell = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d(quantity), ...extra });
const buys = (leaves: string, extra: Partial<WorkingOrderExposure> = {}) =>
  working({ leavesQuantity: d(leaves), ...extra });
const sells = (leaves: string, extra: Partial<WorkingOrderExposure> = {}) =>
  working({ side: 'sell', leavesQuantity: d(leaves), ...extra });
const account = (position: string, ...workingOrders: WorkingExposure[]): RiskContext =>
  context({ positionQuantity: d(position), workingOrders });

describe('maxPositionCheck (maxPositionQuantity 1000)', () => {
  it.each([
    // buys: P + B + q ≤ 1000
    ['flat, buy 1000', buy('1000'), account('0'), 'approved'],
    ['flat, buy 1001', buy('1001'), account('0'), 'risk.max_position'],
    ['flat, buy 1000.0001', buy('1000.0001'), account('0'), 'risk.max_position'],
    ['long 500, working buys 300, buy 200 = 1000', buy('200'), account('500', buys('300')), 'approved'],
    ['long 500, working buys 300, buy 201 = 1001', buy('201'), account('500', buys('300')), 'risk.max_position'],
    [
      'long 500, working buys 100 + 200, buy 201 (every working buy counts)',
      buy('201'),
      account('500', buys('100'), buys('200')),
      'risk.max_position',
    ],
    [
      'long 500, working buys 300 and sells 500, buy 201 (sells do not offset)',
      buy('201'),
      account('500', buys('300'), sells('500')),
      'risk.max_position',
    ],
    [
      'long 500, working buys 300 in QQQ, buy 500 (other symbols do not count)',
      buy('500'),
      account('500', buys('300', { symbol: 'QQQ' })),
      'approved',
    ],
    ['short 200, buy 1200 = long 1000', buy('1200'), account('-200'), 'approved'],
    ['short 200, buy 1201 = long 1001 (flips beyond)', buy('1201'), account('-200'), 'risk.max_position'],
    // sells: −(P − S − q) ≤ 1000
    ['flat, sell 1000', sell('1000'), account('0'), 'approved'],
    ['flat, sell 1001', sell('1001'), account('0'), 'risk.max_position'],
    ['short 400, working sells 300, sell 300 = short 1000', sell('300'), account('-400', sells('300')), 'approved'],
    [
      'short 400, working sells 300, sell 301 = short 1001',
      sell('301'),
      account('-400', sells('300')),
      'risk.max_position',
    ],
    ['long 200, sell 1200 = short 1000', sell('1200'), account('200'), 'approved'],
    ['long 200, sell 1201 = short 1001', sell('1201'), account('200'), 'risk.max_position'],
    [
      'flat, working buys 500, sell 1001 (buys do not offset)',
      sell('1001'),
      account('0', buys('500')),
      'risk.max_position',
    ],
    [
      'long 100, a working closing sell 100 of unknown outcome, sell 1001',
      sell('1001'),
      account('100', sells('100', { positionEffect: 'close' })),
      'risk.max_position',
    ],
    // above the maximum (the limit was lowered): reductions pass, additions do not
    ['long 1500, sell 100', sell('100'), account('1500'), 'approved'],
    ['long 1500, sell 1500 (flat)', sell('1500'), account('1500'), 'approved'],
    ['long 1500, buy 1', buy('1'), account('1500'), 'risk.max_position'],
    ['short 1500, buy 100', buy('100'), account('-1500'), 'approved'],
    ['short 1500, sell 1', sell('1'), account('-1500'), 'risk.max_position'],
    // exits are not exempt from the side they add to
    ['long 100, sell 100 to close (an exit)', sell('100', { positionEffect: 'close' }), account('100'), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(maxPositionCheck(order, ctx, max1000))).toBe(expected);
  });

  it.each([
    ['SPXW, working buys 400, buy 600 contracts (not × 100)', '600', 'approved'],
    ['SPXW, working buys 400, buy 601 contracts', '601', 'risk.max_position'],
  ] as const)('%s → %s', (_name, quantity, expected) => {
    const ctx = spxwContext({ workingOrders: [spxwWorking({ leavesQuantity: d('400') })] });
    expect(outcome(maxPositionCheck(spxwIntent({ quantity: d(quantity) }), ctx, max1000))).toBe(expected);
  });

  it('a maximum of 0 allows only reductions', () => {
    const zero = { ...limits, maxPositionQuantity: d('0') };
    expect(outcome(maxPositionCheck(buy('1'), account('0'), zero))).toBe('risk.max_position');
    expect(outcome(maxPositionCheck(buy('100'), account('-100'), zero))).toBe('approved');
    expect(outcome(maxPositionCheck(buy('101'), account('-100'), zero))).toBe('risk.max_position');
  });

  it('is off without the limit or without working orders', () => {
    expect(outcome(maxPositionCheck(buy('1000000'), account('0'), limits))).toBe('approved');
    expect(outcome(maxPositionCheck(buy('1000000'), context(), max1000))).toBe('approved');
  });

  it('says why, with the parts of the worst case', () => {
    expect(maxPositionCheck(buy('201'), account('500', buys('300')), max1000)).toEqual({
      kind: 'denied',
      code: 'risk.max_position',
      reason:
        'buy 201 could take the position in SPY to long 1001 (position 500, working buys 300, this order 201), ' +
        'above the maximum of 1000 per symbol',
    });
    const short = maxPositionCheck(sell('301'), account('-400', sells('300')), max1000);
    expect(short.kind === 'denied' && short.reason).toBe(
      'sell 301 could take the position in SPY to short 1001 (position -400, working sells 300, this order 301), ' +
        'above the maximum of 1000 per symbol',
    );
  });
});
