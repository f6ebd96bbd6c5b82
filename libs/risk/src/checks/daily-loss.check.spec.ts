import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, dailyPnl, intent, limits, spxwContext, spxwIntent, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { dailyLossCheck } from './daily-loss.check.js';

const max1000: RiskLimits = { ...limits, maxDailyLoss: d('1000') };
const sell = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d(quantity), ...extra });
const day = (realized: string, unrealized: string, extra: Partial<RiskContext> = {}) =>
  context({ dailyPnl: dailyPnl(realized, unrealized), ...extra });
const lost = (extra: Partial<RiskContext> = {}) => day('-600', '-400', extra);

describe('dailyLossCheck (maxDailyLoss 1000 USD)', () => {
  it.each([
    // entries: the loss limit, realized + unrealized
    ['a profitable day', intent(), day('5000', '250'), 'approved'],
    ['flat day', intent(), day('0', '0'), 'approved'],
    ['−999.99 (−600 realized, −399.99 open)', intent(), day('-600', '-399.99'), 'approved'],
    ['−1000 exactly', intent(), day('-600', '-400'), 'risk.daily_loss'],
    ['−1000.01', intent(), day('-1000.01', '0'), 'risk.daily_loss'],
    ['open losses alone: −1000', intent(), day('0', '-1000'), 'risk.daily_loss'],
    ['a realized loss offset by open gains: −1500 + 600', intent(), day('-1500', '600'), 'approved'],
    ['a realized gain offset by open losses: 200 − 1200', intent(), day('200', '-1200'), 'risk.daily_loss'],
    // after the limit: exits only
    ['lost, long 100, sell 100', sell('100'), lost({ positionQuantity: d('100') }), 'approved'],
    ['lost, long 100, sell 1', sell('1'), lost({ positionQuantity: d('100') }), 'approved'],
    ['lost, long 100, sell 101 (flips)', sell('101'), lost({ positionQuantity: d('100') }), 'risk.daily_loss'],
    [
      'lost, long 100, buy 1 (increases)',
      intent({ quantity: d('1') }),
      lost({ positionQuantity: d('100') }),
      'risk.daily_loss',
    ],
    ['lost, flat, sell 1 (opens)', sell('1'), lost(), 'risk.daily_loss'],
    [
      'lost, long 100, sell 50 marked open',
      sell('50', { positionEffect: 'open' }),
      lost({ positionQuantity: d('100') }),
      'risk.daily_loss',
    ],
    [
      'lost, long 100, working sell 60, sell 40',
      sell('40'),
      lost({ positionQuantity: d('100'), workingOrders: [working({ side: 'sell', leavesQuantity: d('60') })] }),
      'approved',
    ],
    [
      'lost, long 100, working sell 60, sell 41 (could flip)',
      sell('41'),
      lost({ positionQuantity: d('100'), workingOrders: [working({ side: 'sell', leavesQuantity: d('60') })] }),
      'risk.daily_loss',
    ],
    [
      'lost, long 100, working buy 60, sell 100 (a buy is not on its side)',
      sell('100'),
      lost({ positionQuantity: d('100'), workingOrders: [working({ leavesQuantity: d('60') })] }),
      'approved',
    ],
    [
      'lost, short 5 SPXW, buy 5 to close',
      spxwIntent({ quantity: d('5'), positionEffect: 'close' }),
      spxwContext({ dailyPnl: dailyPnl('-600', '-400'), positionQuantity: d('-5') }),
      'approved',
    ],
    [
      'lost, short 5 SPXW, buy 6',
      spxwIntent({ quantity: d('6') }),
      spxwContext({ dailyPnl: dailyPnl('-600', '-400'), positionQuantity: d('-5') }),
      'risk.daily_loss',
    ],
    ['no P&L in the context', intent(), context(), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(dailyLossCheck(order, ctx, max1000))).toBe(expected);
  });

  it('is off without the limit; a limit of 0 stops entries once the day is not in profit', () => {
    expect(outcome(dailyLossCheck(intent(), day('-1000000', '0'), limits))).toBe('approved');
    const zero = { ...limits, maxDailyLoss: d('0') };
    expect(outcome(dailyLossCheck(intent(), day('0', '0'), zero))).toBe('risk.daily_loss');
    expect(outcome(dailyLossCheck(intent(), day('0', '0.01'), zero))).toBe('approved');
  });

  it('says why', () => {
    expect(dailyLossCheck(intent(), lost(), max1000)).toEqual({
      kind: 'denied',
      code: 'risk.daily_loss',
      reason:
        "the day's P&L is -1000 USD (realized -600, unrealized -400), at or beyond the loss limit of 1000 USD: " +
        'only orders that reduce the position are accepted, and buy 100 would open a position from flat',
    });
  });
});
