import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { context, d, intent, spxwContext, spxwIntent, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { tradingStateCheck } from './trading-state.check.js';

const UNKNOWN = 'order 0190a3c2 is unknown at the broker';
const sell = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d(quantity), ...extra });
const buy = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'buy', quantity: d(quantity), ...extra });
const account = (
  tradingState: RiskContext['tradingState'],
  position: string,
  entriesBlockedReason: string | null = null,
) => context({ tradingState, positionQuantity: d(position), entriesBlockedReason });

describe('tradingStateCheck', () => {
  it.each([
    // active: this check has nothing to say
    ['active, flat, buy opens', buy('100'), account('active', '0'), 'approved'],
    ['active, long, buy increases', buy('100'), account('active', '100'), 'approved'],
    ['active, long, sell flips', sell('300'), account('active', '100'), 'approved'],
    // halted: nothing, exits included
    ['halted, flat, buy', buy('1'), account('halted', '0'), 'risk.trading_halted'],
    ['halted, long 100, sell 100 (an exit)', sell('100'), account('halted', '100'), 'risk.trading_halted'],
    ['halted, also entries blocked', sell('100'), account('halted', '100', UNKNOWN), 'risk.trading_halted'],
    // reducing: only reductions, up to the whole position and not one share beyond
    ['reducing, long 100, sell 100 (closes it)', sell('100'), account('reducing', '100'), 'approved'],
    ['reducing, long 100, sell 101 (flips it)', sell('101'), account('reducing', '100'), 'risk.entries_blocked'],
    ['reducing, long 100, sell 1', sell('1'), account('reducing', '100'), 'approved'],
    ['reducing, long 100, buy 1 (increases)', buy('1'), account('reducing', '100'), 'risk.entries_blocked'],
    ['reducing, flat, sell 1 (opens short)', sell('1'), account('reducing', '0'), 'risk.entries_blocked'],
    ['reducing, flat, buy 1 (opens long)', buy('1'), account('reducing', '0'), 'risk.entries_blocked'],
    ['reducing, long 0.5, sell 0.5', sell('0.5'), account('reducing', '0.5'), 'approved'],
    ['reducing, long 0.5, sell 0.5001', sell('0.5001'), account('reducing', '0.5'), 'risk.entries_blocked'],
    // short SPXW calls: buying to close reduces
    [
      'reducing, short 5 SPXW, buy 5',
      spxwIntent({ quantity: d('5') }),
      spxwContext({ tradingState: 'reducing', positionQuantity: d('-5') }),
      'approved',
    ],
    [
      'reducing, short 5 SPXW, buy 6',
      spxwIntent({ quantity: d('6') }),
      spxwContext({ tradingState: 'reducing', positionQuantity: d('-5') }),
      'risk.entries_blocked',
    ],
    [
      'reducing, short 5 SPXW, sell 1',
      spxwIntent({ side: 'sell', quantity: d('1') }),
      spxwContext({ tradingState: 'reducing', positionQuantity: d('-5') }),
      'risk.entries_blocked',
    ],
    // position effect: 'open' is believed, 'close' is verified
    [
      'reducing, long 100, sell 50 marked open',
      sell('50', { positionEffect: 'open' }),
      account('reducing', '100'),
      'risk.entries_blocked',
    ],
    [
      'reducing, long 100, sell 100 marked close',
      sell('100', { positionEffect: 'close' }),
      account('reducing', '100'),
      'approved',
    ],
    [
      'reducing, long 100, buy 1 marked close',
      buy('1', { positionEffect: 'close' }),
      account('reducing', '100'),
      'risk.entries_blocked',
    ],
    // entries blocked on an active account: the same rule
    ['active, entries blocked, long 100, sell 100', sell('100'), account('active', '100', UNKNOWN), 'approved'],
    [
      'active, entries blocked, long 100, sell 101',
      sell('101'),
      account('active', '100', UNKNOWN),
      'risk.entries_blocked',
    ],
    ['active, entries blocked, long 100, buy 1', buy('1'), account('active', '100', UNKNOWN), 'risk.entries_blocked'],
    ['active, entries blocked, flat, buy 1', buy('1'), account('active', '0', UNKNOWN), 'risk.entries_blocked'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(tradingStateCheck(order, ctx))).toBe(expected);
  });

  it('says why: the restriction and what the order would do', () => {
    expect(tradingStateCheck(sell('101'), account('reducing', '100'))).toEqual({
      kind: 'denied',
      code: 'risk.entries_blocked',
      reason:
        'the account is in reducing state: only orders that reduce the position without flipping it are accepted, ' +
        'and sell 101 would flip the long position of 100',
    });
    const blocked = tradingStateCheck(buy('1'), account('reducing', '0', UNKNOWN));
    expect(blocked.kind === 'denied' && blocked.reason).toContain(
      `the account is in reducing state and entries are blocked (${UNKNOWN})`,
    );
    expect(blocked.kind === 'denied' && blocked.reason).toContain('buy 1 would open a position from flat');
    const halted = tradingStateCheck(sell('100'), account('halted', '100'));
    expect(halted.kind === 'denied' && halted.reason).toContain('halted');
  });

  it('sizes an exit against the confirmed position less the working orders on its side (an unknown one too)', () => {
    // Long 10 with an unknown sell of 6 working: it may fill, so only 4 more may be sold while blocked.
    const blocked = context({
      tradingState: 'active',
      positionQuantity: d('10'),
      entriesBlockedReason: UNKNOWN,
      workingOrders: [working({ side: 'sell', leavesQuantity: d('6') })],
    });
    expect(outcome(tradingStateCheck(sell('4'), blocked))).toBe('approved');
    expect(outcome(tradingStateCheck(sell('5'), blocked))).toBe('risk.entries_blocked');
  });
});
