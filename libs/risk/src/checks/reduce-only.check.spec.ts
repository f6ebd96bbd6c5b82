import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext, WorkingExposure, WorkingOrderExposure } from '../risk-context.js';
import { context, d, intent, limits, spxwContext, spxwIntent, spxwWorking, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { reduceOnlyCheck } from './reduce-only.check.js';

const closeSell = (quantity: string) => intent({ side: 'sell', quantity: d(quantity), positionEffect: 'close' });
const closeBuy = (quantity: string) => intent({ quantity: d(quantity), positionEffect: 'close' });
const closingSell = (leaves: string, extra: Partial<WorkingOrderExposure> = {}) =>
  working({ side: 'sell', leavesQuantity: d(leaves), positionEffect: 'close', ...extra });
const account = (position: string, ...workingOrders: WorkingExposure[]): RiskContext =>
  context({ positionQuantity: d(position), workingOrders });
const spxwClose = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  spxwIntent({ quantity: d(quantity), positionEffect: 'close', ...extra });
const spxwShort5 = (...workingOrders: WorkingExposure[]) => spxwContext({ positionQuantity: d('-5'), workingOrders });

describe('reduceOnlyCheck (positionEffect close)', () => {
  it.each([
    // not marked close: not this check's business
    ['unmarked, flat, sell 100', intent({ side: 'sell' }), account('0'), 'approved'],
    [
      'marked open, long 100, sell 500',
      intent({ side: 'sell', quantity: d('500'), positionEffect: 'open' }),
      account('100'),
      'approved',
    ],
    // long: q + Sc ≤ P
    ['long 100, close 100', closeSell('100'), account('100'), 'approved'],
    ['long 100, close 101', closeSell('101'), account('100'), 'risk.reduce_only'],
    ['long 100, closing sell 40 working, close 60', closeSell('60'), account('100', closingSell('40')), 'approved'],
    [
      'long 100, closing sell 40 working, close 61',
      closeSell('61'),
      account('100', closingSell('40')),
      'risk.reduce_only',
    ],
    [
      'long 100, closing sells 40 + 30 working, close 31',
      closeSell('31'),
      account('100', closingSell('40'), closingSell('30')),
      'risk.reduce_only',
    ],
    [
      'long 100, an unmarked working sell 40 is not an exit: close 100',
      closeSell('100'),
      account('100', closingSell('40', { positionEffect: null })),
      'approved',
    ],
    [
      'long 100, a closing sell in QQQ: close 100',
      closeSell('100'),
      account('100', closingSell('40', { symbol: 'QQQ' })),
      'approved',
    ],
    [
      'long 100, a closing buy is not on the sell side: close 100',
      closeSell('100'),
      account('100', closingSell('40', { side: 'buy' })),
      'approved',
    ],
    // an unknown order: not position (P stays confirmed), but a working exit when it closes
    [
      'long 100 confirmed, a closing sell 100 of unknown outcome: close 1',
      closeSell('1'),
      account('100', closingSell('100', { type: 'market', limitPrice: null })),
      'risk.reduce_only',
    ],
    [
      'flat confirmed, an unknown opening buy 100: close 100 (not a position yet)',
      closeSell('100'),
      account('0', working({ leavesQuantity: d('100'), positionEffect: 'open' })),
      'risk.reduce_only',
    ],
    // nothing to close, or the wrong direction
    ['flat, close sell 1', closeSell('1'), account('0'), 'risk.reduce_only'],
    ['flat, close buy 1', closeBuy('1'), account('0'), 'risk.reduce_only'],
    ['long 100, close buy 1 (increases)', closeBuy('1'), account('100'), 'risk.reduce_only'],
    ['long 0.5, close 0.5', closeSell('0.5'), account('0.5'), 'approved'],
    ['long 0.5, close 0.5001', closeSell('0.5001'), account('0.5'), 'risk.reduce_only'],
    // short options: buy to close, mirrored
    ['short 5 SPXW, close 5', spxwClose('5'), spxwShort5(), 'approved'],
    ['short 5 SPXW, close 6', spxwClose('6'), spxwShort5(), 'risk.reduce_only'],
    [
      'short 5 SPXW, closing buy 2 working, close 3',
      spxwClose('3'),
      spxwShort5(spxwWorking({ leavesQuantity: d('2'), positionEffect: 'close' })),
      'approved',
    ],
    [
      'short 5 SPXW, closing buy 2 working, close 4',
      spxwClose('4'),
      spxwShort5(spxwWorking({ leavesQuantity: d('2'), positionEffect: 'close' })),
      'risk.reduce_only',
    ],
    ['short 5 SPXW, sell 1 to close (increases)', spxwClose('1', { side: 'sell' }), spxwShort5(), 'risk.reduce_only'],
    // callers without working orders keep their behaviour
    ['no working orders in the context: flat, close 1', closeSell('1'), context(), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(reduceOnlyCheck(order, ctx, limits))).toBe(expected);
  });

  it('says why', () => {
    expect(reduceOnlyCheck(closeSell('61'), account('100', closingSell('40')), limits)).toEqual({
      kind: 'denied',
      code: 'risk.reduce_only',
      reason:
        'an order marked to close must reduce the confirmed position without flipping it, counting the working ' +
        'closing orders, and sell 61 with working sell orders of 40 would flip the long position of 100',
    });
  });
});
