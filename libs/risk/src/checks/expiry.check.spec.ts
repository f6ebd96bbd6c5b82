import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, NOW, spxwContext, spxwIntent, spxwWorking } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { expiryCheck } from './expiry.check.js';

// The fixtures' SPXW call expires 2021-01-04 (EST, UTC−5): it trades until 16:00 ET = 21:00Z.
const at = (iso: string) => Date.parse(iso);
const END = at('2021-01-04T21:00:00.000Z');
const market = (marketNow: number, extra: Partial<RiskContext> = {}) => spxwContext({ marketNow, ...extra });
const cutoff30: RiskLimits = { ...limits, zeroDteCutoffMinutes: 30 };
const buy = (extra: Partial<OrderIntent> = {}) => spxwIntent(extra);
const sellToClose = (quantity: string) => spxwIntent({ side: 'sell', quantity: d(quantity), positionEffect: 'close' });
const long10 = (marketNow: number, extra: Partial<RiskContext> = {}) =>
  market(marketNow, { positionQuantity: d('10'), ...extra });
const SPX_AM = 'SPX   210115C03700000'; // third Friday 2021-01-15: last trades Thursday 2021-01-14 16:15 ET = 21:15Z
const spx = (extra: Partial<OrderIntent> = {}) => spxwIntent({ symbol: SPX_AM, ...extra });

describe('expiryCheck: expired options', () => {
  it.each([
    ['no clock at all: not applied', buy(), spxwContext(), 'approved'],
    ['10:30 ET on expiration day (now)', buy(), spxwContext({ now: NOW }), 'approved'],
    ['15:59:59.999 ET (marketNow)', buy(), market(END - 1), 'approved'],
    ['16:00:00.000 ET: expired', buy(), market(END), 'risk.instrument_expired'],
    ['16:00 ET, now only', buy(), spxwContext({ now: END }), 'risk.instrument_expired'],
    ['the next day', buy(), market(END + 86_400_000), 'risk.instrument_expired'],
    ['expired: an exit cannot trade either', sellToClose('10'), long10(END), 'risk.instrument_expired'],
    // the market's clock wins: a replayed day at 10:30 ET while the wall clock is years later
    ['marketNow 10:30 ET, now in 2026', buy(), market(NOW, { now: at('2026-11-21T12:00:00Z') }), 'approved'],
    ['marketNow 16:00 ET, now 10:30 ET', buy(), market(END, { now: NOW }), 'risk.instrument_expired'],
    // summer (EDT, UTC−4): 16:00 ET = 20:00Z
    [
      'SPXW 2021-07-07 at 19:59:59.999Z',
      buy({ symbol: 'SPXW  210707C04300000' }),
      market(at('2021-07-07T19:59:59.999Z')),
      'approved',
    ],
    [
      'SPXW 2021-07-07 at 20:00Z',
      buy({ symbol: 'SPXW  210707C04300000' }),
      market(at('2021-07-07T20:00:00Z')),
      'risk.instrument_expired',
    ],
    // AM-settled SPX stops trading the business day before, at 16:15 ET
    ['SPX AM, Thursday 16:14:59.999 ET', spx(), market(at('2021-01-14T21:14:59.999Z')), 'approved'],
    ['SPX AM, Thursday 16:15 ET', spx(), market(at('2021-01-14T21:15:00Z')), 'risk.instrument_expired'],
    ['SPX AM, expiration morning 09:30 ET', spx(), market(at('2021-01-15T14:30:00Z')), 'risk.instrument_expired'],
    // XSP and ETF options: 16:00 ET on the expiration date
    ['XSP at 15:59:59.999 ET', buy({ symbol: 'XSP   210104C00370000' }), market(END - 1), 'approved'],
    ['XSP at 16:00 ET', buy({ symbol: 'XSP   210104C00370000' }), market(END), 'risk.instrument_expired'],
    ['SPY put at 16:00 ET', buy({ symbol: 'SPY   210104P00370000' }), market(END), 'risk.instrument_expired'],
    // not options of a supported product
    ['SPY shares after the close', intent(), context({ marketNow: END + 3_600_000 }), 'approved'],
    [
      'an NDX call long expired: left to the product check',
      buy({ symbol: 'NDX   200104C12800000' }),
      market(END),
      'approved',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(expiryCheck(order, ctx, limits))).toBe(expected);
  });

  it('says when it stopped trading', () => {
    expect(expiryCheck(buy(), market(END), limits)).toEqual({
      kind: 'denied',
      code: 'risk.instrument_expired',
      reason:
        'SPXW  210104C03700000 (expiration 2021-01-04) stopped trading at 16:00 ET on 2021-01-04: no order can trade in it',
    });
    const spxDenied = expiryCheck(spx(), market(at('2021-01-15T14:30:00Z')), limits);
    expect(spxDenied.kind === 'denied' && spxDenied.reason).toBe(
      'SPX   210115C03700000 (expiration 2021-01-15) stopped trading at 16:15 ET on 2021-01-14: no order can trade in it',
    );
  });
});

describe('expiryCheck: 0DTE opening cutoff (30 minutes)', () => {
  const CUTOFF = END - 30 * 60_000; // 15:30 ET
  it.each([
    ['15:29:59.999 ET: an opening buy', buy(), market(CUTOFF - 1), 'approved'],
    ['15:30:00.000 ET: an opening buy', buy(), market(CUTOFF), 'risk.opening_cutoff'],
    ['15:59:59.999 ET: an opening buy', buy(), market(END - 1), 'risk.opening_cutoff'],
    ['15:30 ET: an opening sell (short)', buy({ side: 'sell' }), market(CUTOFF), 'risk.opening_cutoff'],
    ['15:30 ET, long 10: buy 1 more', buy({ quantity: d('1') }), long10(CUTOFF), 'risk.opening_cutoff'],
    ['15:30 ET, long 10: sell 10 to close', sellToClose('10'), long10(CUTOFF), 'approved'],
    ['15:30 ET, long 10: sell 10 unmarked', buy({ side: 'sell' }), long10(CUTOFF), 'approved'],
    ['15:30 ET, long 10: sell 11 (flips)', sellToClose('11'), long10(CUTOFF), 'risk.opening_cutoff'],
    [
      '15:30 ET, long 10, working sell 4: sell 6',
      sellToClose('6'),
      long10(CUTOFF, { workingOrders: [spxwWorking({ side: 'sell', leavesQuantity: d('4') })] }),
      'approved',
    ],
    [
      '15:30 ET, long 10, working sell 4: sell 7 (could flip)',
      sellToClose('7'),
      long10(CUTOFF, { workingOrders: [spxwWorking({ side: 'sell', leavesQuantity: d('4') })] }),
      'risk.opening_cutoff',
    ],
    [
      '15:30 ET, short 5: buy 5 to close',
      buy({ quantity: d('5') }),
      market(CUTOFF, { positionQuantity: d('-5') }),
      'approved',
    ],
    // an option expiring tomorrow is not in its last minutes
    ['15:59 ET, the 2021-01-05 call', buy({ symbol: 'SPXW  210105C03700000' }), market(END - 60_000), 'approved'],
    // AM-settled SPX: the window is on its last trading day, the eve of expiration (16:15 ET − 30 min)
    ['SPX AM, Thursday 15:44:59.999 ET', spx(), market(at('2021-01-14T20:44:59.999Z')), 'approved'],
    ['SPX AM, Thursday 15:45 ET', spx(), market(at('2021-01-14T20:45:00Z')), 'risk.opening_cutoff'],
    // shares have no expiry
    ['SPY shares at 15:45 ET', intent(), context({ marketNow: END - 15 * 60_000 }), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(expiryCheck(order, ctx, cutoff30))).toBe(expected);
  });

  it('is off without the limit, and a cutoff of 0 cuts nothing', () => {
    expect(outcome(expiryCheck(buy(), market(END - 1), limits))).toBe('approved');
    expect(outcome(expiryCheck(buy(), market(END - 1), { ...limits, zeroDteCutoffMinutes: 0 }))).toBe('approved');
    expect(outcome(expiryCheck(buy(), market(END), { ...limits, zeroDteCutoffMinutes: 0 }))).toBe(
      'risk.instrument_expired',
    );
  });

  it('says why', () => {
    expect(expiryCheck(buy(), market(CUTOFF), cutoff30)).toEqual({
      kind: 'denied',
      code: 'risk.opening_cutoff',
      reason:
        'SPXW  210104C03700000 stops trading at 16:00 ET on 2021-01-04, and orders that open or add to a position ' +
        'are not accepted in its last 30 minutes: only orders that reduce the position are, and buy 10 would open ' +
        'a position from flat',
    });
  });
});
