import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, SPXW_CALL, spxwContext, spxwIntent, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { instrumentAllowedCheck, isInstrumentAllowed } from './instrument-allowed.check.js';

const SPX_CALL = 'SPX   210104C03700000';
const SPY_PUT = 'SPY   210104P00370000';
const allow = (...allowedSymbols: string[]): RiskLimits => ({ ...limits, allowedSymbols });
const spyAndSpxw = allow('SPY', 'root:SPXW');
const qqq = (extra: Partial<OrderIntent> = {}) => intent({ symbol: 'QQQ', limitPrice: d('300'), ...extra });
const longQqq = (quantity: string, extra: Partial<RiskContext> = {}) =>
  context({ positionQuantity: d(quantity), ...extra });

describe('instrumentAllowedCheck (allowedSymbols)', () => {
  it.each([
    ['no allow-list: anything', qqq(), context(), limits, 'approved'],
    ['SPY, listed', intent(), context(), spyAndSpxw, 'approved'],
    ['QQQ, not listed', qqq(), context(), spyAndSpxw, 'risk.instrument_not_allowed'],
    [
      'SPYG, only a prefix of a listed ticker',
      intent({ symbol: 'SPYG' }),
      context(),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'SPY against a lower-case entry (case-sensitive)',
      intent(),
      context(),
      allow('spy'),
      'risk.instrument_not_allowed',
    ],
    ['an empty allow-list: nothing', intent(), context(), allow(), 'risk.instrument_not_allowed'],
    // options: `root:<ROOT>` allows every option on the root
    ['SPXW call by root:SPXW', spxwIntent(), spxwContext(), spyAndSpxw, 'approved'],
    [
      'SPXW call, unpadded symbol, by root:SPXW',
      spxwIntent({ symbol: 'SPXW210104C03700000' }),
      spxwContext(),
      spyAndSpxw,
      'approved',
    ],
    [
      'SPX call: root SPX is not SPXW',
      spxwIntent({ symbol: SPX_CALL }),
      spxwContext(),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'SPXW call against a plain SPXW entry (not a root entry)',
      spxwIntent(),
      spxwContext(),
      allow('SPXW'),
      'risk.instrument_not_allowed',
    ],
    ['SPXW call listed by its exact symbol', spxwIntent(), spxwContext(), allow(SPXW_CALL), 'approved'],
    ['SPY put by root:SPY', spxwIntent({ symbol: SPY_PUT }), spxwContext(), allow('root:SPY'), 'approved'],
    ['SPY shares against root:SPY only', intent(), context(), allow('root:SPY'), 'risk.instrument_not_allowed'],
    ['a root entry without a root', spxwIntent(), spxwContext(), allow('root:'), 'risk.instrument_not_allowed'],
    [
      'an unparseable symbol, not listed',
      intent({ symbol: 'NOT A SYMBOL' }),
      context(),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    // exits of a position in an instrument that is not listed stay possible
    ['QQQ long 100, sell 100 (exit)', qqq({ side: 'sell' }), longQqq('100'), spyAndSpxw, 'approved'],
    [
      'QQQ long 100, sell 101 (flips)',
      qqq({ side: 'sell', quantity: d('101') }),
      longQqq('100'),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'QQQ long 100, buy 1 (increases)',
      qqq({ quantity: d('1') }),
      longQqq('100'),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'QQQ long 100, sell 50 marked open',
      qqq({ side: 'sell', quantity: d('50'), positionEffect: 'open' }),
      longQqq('100'),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'QQQ long 100, working sell 60, sell 40 (fits)',
      qqq({ side: 'sell', quantity: d('40') }),
      longQqq('100', { workingOrders: [working({ symbol: 'QQQ', side: 'sell', leavesQuantity: d('60') })] }),
      spyAndSpxw,
      'approved',
    ],
    [
      'QQQ long 100, working sell 60, sell 41 (could flip)',
      qqq({ side: 'sell', quantity: d('41') }),
      longQqq('100', { workingOrders: [working({ symbol: 'QQQ', side: 'sell', leavesQuantity: d('60') })] }),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
    [
      'SPX short 5 (assigned elsewhere), buy 5 to close',
      spxwIntent({ symbol: SPX_CALL, quantity: d('5'), positionEffect: 'close' }),
      spxwContext({ positionQuantity: d('-5') }),
      spyAndSpxw,
      'approved',
    ],
    [
      'QQQ flat, sell 1 (opens short)',
      qqq({ side: 'sell', quantity: d('1') }),
      context(),
      spyAndSpxw,
      'risk.instrument_not_allowed',
    ],
  ] as const)('%s → %s', (_name, order, ctx, lim, expected) => {
    expect(outcome(instrumentAllowedCheck(order, ctx, lim))).toBe(expected);
  });

  it('isInstrumentAllowed: exact tickers, option roots', () => {
    expect(isInstrumentAllowed('SPY', ['SPY'])).toBe(true);
    expect(isInstrumentAllowed(SPXW_CALL, ['root:SPXW'])).toBe(true);
    expect(isInstrumentAllowed(SPXW_CALL, ['root:SPX'])).toBe(false);
    expect(isInstrumentAllowed('SPY', ['root:SPY'])).toBe(false);
    expect(isInstrumentAllowed('SPY', [])).toBe(false);
  });

  it('says why, naming the root entry that would allow an option', () => {
    expect(instrumentAllowedCheck(qqq(), context(), spyAndSpxw)).toEqual({
      kind: 'denied',
      code: 'risk.instrument_not_allowed',
      reason:
        "QQQ is not on the account's allowed instruments: only exits of an existing position are accepted, " +
        'and buy 100 would open a position from flat',
    });
    const option = instrumentAllowedCheck(spxwIntent({ symbol: SPX_CALL }), spxwContext(), spyAndSpxw);
    expect(option.kind === 'denied' && option.reason).toBe(
      `${SPX_CALL} (an option on root SPX) is not on the account's allowed instruments (neither the symbol nor ` +
        'root:SPX is listed): only exits of an existing position are accepted, and buy 10 would open a position from flat',
    );
  });
});
