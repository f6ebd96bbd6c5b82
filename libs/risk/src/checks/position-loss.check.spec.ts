import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { PositionExposure, RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import {
  context,
  d,
  intent,
  limits,
  position,
  SPXW_CALL,
  spxwContext,
  spxwIntent,
  working,
} from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { positionLossCheck } from './position-loss.check.js';

const max500: RiskLimits = { ...limits, maxPositionLoss: d('500') };
// Long 100 SPY bought at 170.00: at a mark of 165.00 it has lost 500.
const spy = (mark: string, extra: Partial<PositionExposure> = {}) =>
  position({ quantity: d('100'), averagePrice: d('170.00'), markPrice: d(mark), ...extra });
const long100 = (mark: string, extra: Partial<RiskContext> = {}) =>
  context({ positionQuantity: d('100'), positions: [spy(mark)], ...extra });
const sell = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d(quantity), ...extra });
// Short 5 SPXW calls sold at 4.00: at a mark of 5.00 they have lost 5 × 1.00 × 100 = 500.
const spxwShort = (mark: string) =>
  spxwContext({
    positionQuantity: d('-5'),
    positions: [
      position({
        symbol: SPXW_CALL,
        quantity: d('-5'),
        averagePrice: d('4.00'),
        markPrice: d(mark),
        multiplier: d('100'),
      }),
    ],
  });

describe('positionLossCheck (maxPositionLoss 500 USD)', () => {
  it.each([
    ['long 100 SPY, a gain (mark 175)', intent(), long100('175'), 'approved'],
    ['long 100 SPY, −499 (mark 165.01)', intent(), long100('165.01'), 'approved'],
    ['long 100 SPY, −500 exactly (mark 165.00): buy more', intent(), long100('165.00'), 'risk.max_position_loss'],
    ['long 100 SPY, −501 (mark 164.99): buy more', intent(), long100('164.99'), 'risk.max_position_loss'],
    ['lost: sell 100 (closes)', sell('100'), long100('165'), 'approved'],
    ['lost: sell 1', sell('1'), long100('165'), 'approved'],
    ['lost: sell 101 (flips)', sell('101'), long100('165'), 'risk.max_position_loss'],
    ['lost: sell 50 marked open', sell('50', { positionEffect: 'open' }), long100('165'), 'risk.max_position_loss'],
    [
      'lost, working sell 60: sell 40',
      sell('40'),
      long100('165', { workingOrders: [working({ side: 'sell', leavesQuantity: d('60') })] }),
      'approved',
    ],
    [
      'lost, working sell 60: sell 41 (could flip)',
      sell('41'),
      long100('165', { workingOrders: [working({ side: 'sell', leavesQuantity: d('60') })] }),
      'risk.max_position_loss',
    ],
    // a short loses when the mark rises; options count the multiplier
    [
      'short 5 SPXW, −495 (mark 4.99): sell 1 more',
      spxwIntent({ side: 'sell', quantity: d('1') }),
      spxwShort('4.99'),
      'approved',
    ],
    [
      'short 5 SPXW, −500 (mark 5.00): sell 1 more',
      spxwIntent({ side: 'sell', quantity: d('1') }),
      spxwShort('5.00'),
      'risk.max_position_loss',
    ],
    ['short 5 SPXW, −500: buy 5 to close', spxwIntent({ quantity: d('5') }), spxwShort('5.00'), 'approved'],
    [
      'short 5 SPXW, −500: buy 6 (flips)',
      spxwIntent({ quantity: d('6') }),
      spxwShort('5.00'),
      'risk.max_position_loss',
    ],
    // only the intent's symbol counts
    [
      'a losing QQQ position does not stop SPY',
      intent(),
      context({
        positions: [
          spy('175'),
          position({ symbol: 'QQQ', quantity: d('10'), averagePrice: d('400'), markPrice: d('300') }),
        ],
      }),
      'approved',
    ],
    [
      'a losing SPY position stops SPY, not QQQ',
      intent({ symbol: 'QQQ', limitPrice: d('300') }),
      long100('160'),
      'approved',
    ],
    // off: no context, no mark, no average price, no entry
    ['no positions in the context', intent(), context({ positionQuantity: d('100') }), 'approved'],
    ['no entry for the symbol', intent(), context({ positions: [] }), 'approved'],
    ['no mark', intent(), context({ positions: [spy('165', { markPrice: null })] }), 'approved'],
    ['no average price', intent(), context({ positions: [spy('165', { averagePrice: undefined })] }), 'approved'],
    ['flat (a listed flat position)', intent(), context({ positions: [spy('100', { quantity: d('0') })] }), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(positionLossCheck(order, ctx, max500))).toBe(expected);
  });

  it('is off without the limit', () => {
    expect(outcome(positionLossCheck(intent(), long100('1'), limits))).toBe('approved');
  });

  it('says why', () => {
    expect(positionLossCheck(intent(), long100('165'), max500)).toEqual({
      kind: 'denied',
      code: 'risk.max_position_loss',
      reason:
        'the position of 100 in SPY has an unrealized P&L of -500 USD (average price 170, mark 165), at or beyond ' +
        'the position loss limit of 500 USD: only orders that reduce it are accepted, and buy 100 would increase ' +
        'the long position of 100',
    });
  });
});
