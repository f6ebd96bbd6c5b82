import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, spxwContext, spxwIntent, spxwQuote, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { tradingStateCheck } from './trading-state.check.js';

const UNKNOWN = 'order 0190a3c2 is unknown at the broker';
const sell = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'sell', quantity: d(quantity), ...extra });
const buy = (quantity: string, extra: Partial<OrderIntent> = {}) =>
  intent({ side: 'buy', quantity: d(quantity), ...extra });
const at = (limit: string): Partial<OrderIntent> => ({ limitPrice: d(limit) });
const MARKET: Partial<OrderIntent> = { type: 'market', limitPrice: null };
const STOP: Partial<OrderIntent> = { type: 'stop', limitPrice: null, stopPrice: d('160') };
const STOP_LIMIT: Partial<OrderIntent> = { type: 'stop_limit', limitPrice: d('160'), stopPrice: d('160') };
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
    // halted: no entries; exits only as marketable limit orders (bid 167.40, ask 167.42), with current data;
    // how far through the market is the price collar check's (engine test)
    ['halted, flat, buy', buy('1'), account('halted', '0'), 'risk.trading_halted'],
    ['halted, long 100, buy 1 (increases)', buy('1'), account('halted', '100'), 'risk.trading_halted'],
    ['halted, long 100, sell 101 (flips)', sell('101'), account('halted', '100'), 'risk.trading_halted'],
    [
      'halted, long 100, sell 50 marked open',
      sell('50', { positionEffect: 'open' }),
      account('halted', '100'),
      'risk.trading_halted',
    ],
    [
      'halted, long 100, sell 100 limit 167.40 (at the bid)',
      sell('100', at('167.40')),
      account('halted', '100'),
      'approved',
    ],
    [
      'halted, long 100, sell 100 limit 167.41 (rests above the bid)',
      sell('100'),
      account('halted', '100'),
      'risk.trading_halted',
    ],
    [
      'halted, long 100, sell 100 limit 150.67 (through the bid)',
      sell('100', at('150.67')),
      account('halted', '100'),
      'approved',
    ],
    [
      'halted, long 100, sell 100 limit 184.15',
      sell('100', at('184.15')),
      account('halted', '100'),
      'risk.trading_halted',
    ],
    ['halted, long 100, market sell 100', sell('100', MARKET), account('halted', '100'), 'risk.trading_halted'],
    ['halted, long 100, stop sell 100', sell('100', STOP), account('halted', '100'), 'risk.trading_halted'],
    ['halted, long 100, stop_limit sell 100', sell('100', STOP_LIMIT), account('halted', '100'), 'risk.trading_halted'],
    [
      'halted, long 100, sell 100 limit at the bid, quote 120001 ms old',
      sell('100', at('167.40')),
      context({ tradingState: 'halted', positionQuantity: d('100'), quoteAgeMs: 120_001 }),
      'risk.trading_halted',
    ],
    [
      'halted, long 100, sell 100 limit at the bid, quote 120000 ms old',
      sell('100', at('167.40')),
      context({ tradingState: 'halted', positionQuantity: d('100'), quoteAgeMs: 120_000 }),
      'approved',
    ],
    [
      'halted, long 100, sell 100 limit, no quote',
      sell('100', at('167.40')),
      context({ tradingState: 'halted', positionQuantity: d('100'), quote: undefined, quoteAgeMs: null }),
      'risk.trading_halted',
    ],
    ['halted, also entries blocked: an exit', sell('100', at('167.40')), account('halted', '100', UNKNOWN), 'approved'],
    ['halted, also entries blocked: an entry', buy('1'), account('halted', '100', UNKNOWN), 'risk.trading_halted'],
    [
      'halted, short 5 SPXW, buy 5 at 5.00 (the ask)',
      spxwIntent({ quantity: d('5'), limitPrice: d('5.00') }),
      spxwContext({ tradingState: 'halted', positionQuantity: d('-5') }),
      'approved',
    ],
    [
      'halted, short 5 SPXW, buy 5 at 4.95 (below the ask)',
      spxwIntent({ quantity: d('5'), limitPrice: d('4.95') }),
      spxwContext({ tradingState: 'halted', positionQuantity: d('-5') }),
      'risk.trading_halted',
    ],
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
    expect(outcome(tradingStateCheck(order, ctx, limits))).toBe(expected);
  });

  it('says why: the restriction and what the order would do', () => {
    expect(tradingStateCheck(sell('101'), account('reducing', '100'), limits)).toEqual({
      kind: 'denied',
      code: 'risk.entries_blocked',
      reason:
        'the account is in reducing state: only orders that reduce the position without flipping it are accepted, ' +
        'and sell 101 would flip the long position of 100',
    });
    const blocked = tradingStateCheck(buy('1'), account('reducing', '0', UNKNOWN), limits);
    expect(blocked.kind === 'denied' && blocked.reason).toContain(
      `the account is in reducing state and entries are blocked (${UNKNOWN})`,
    );
    expect(blocked.kind === 'denied' && blocked.reason).toContain('buy 1 would open a position from flat');
  });

  it('says why a halted account refuses an order', () => {
    const reason = (order: OrderIntent, ctx: RiskContext, lim: RiskLimits = limits) => {
      const decision = tradingStateCheck(order, ctx, lim);
      return decision.kind === 'denied' ? `${decision.code}: ${decision.reason}` : 'approved';
    };
    expect(reason(buy('1'), account('halted', '0'))).toBe(
      'risk.trading_halted: trading is halted: no entries are accepted, only exits as marketable limit ' +
        'orders inside the price collar, and buy 1 would open a position from flat',
    );
    expect(reason(sell('100', MARKET), account('halted', '100'))).toBe(
      'risk.trading_halted: trading is halted: only exits as marketable limit orders inside the price collar ' +
        'are accepted, and this is a market order',
    );
    expect(
      reason(
        sell('100', at('167.40')),
        context({ tradingState: 'halted', positionQuantity: d('100'), quote: undefined, quoteAgeMs: null }),
      ),
    ).toBe(
      'risk.trading_halted: trading is halted: only exits as marketable limit orders inside the price collar ' +
        'are accepted, and without current market data an exit cannot be bounded (no quote for SPY)',
    );
    expect(reason(sell('100', at('167.41')), account('halted', '100'))).toBe(
      'risk.trading_halted: trading is halted: only exits as marketable limit orders inside the price collar ' +
        'are accepted, and a sell limit of 167.41 is not marketable against the bid 167.4',
    );
  });

  it("takes a halted account's exits at the other side of the book only", () => {
    const cheap = spxwContext({
      tradingState: 'halted',
      positionQuantity: d('5'),
      quote: spxwQuote({ bid: d('0.15'), ask: d('0.25'), last: d('0.20') }),
    });
    const exit = (limit: string) => spxwIntent({ side: 'sell', quantity: d('5'), limitPrice: d(limit) });
    expect(outcome(tradingStateCheck(exit('0.15'), cheap, limits))).toBe('approved');
    expect(outcome(tradingStateCheck(exit('0.10'), cheap, limits))).toBe('approved'); // the collar bounds it
    expect(outcome(tradingStateCheck(exit('0.20'), cheap, limits))).toBe('risk.trading_halted');
    const noBid = spxwContext({
      tradingState: 'halted',
      positionQuantity: d('5'),
      quote: spxwQuote({ bid: d('0'), ask: d('0.25'), last: d('0.20') }),
    });
    // an empty bid: the reference price stands in for it
    expect(outcome(tradingStateCheck(exit('0.20'), noBid, limits))).toBe('approved');
    expect(outcome(tradingStateCheck(exit('0.25'), noBid, limits))).toBe('risk.trading_halted');
  });

  it('sizes an exit against the confirmed position less the working orders on its side (an unknown one too)', () => {
    // Long 10 with an unknown sell of 6 working: it may fill, so only 4 more may be sold while blocked.
    const blocked = context({
      tradingState: 'active',
      positionQuantity: d('10'),
      entriesBlockedReason: UNKNOWN,
      workingOrders: [working({ side: 'sell', leavesQuantity: d('6') })],
    });
    expect(outcome(tradingStateCheck(sell('4'), blocked, limits))).toBe('approved');
    expect(outcome(tradingStateCheck(sell('5'), blocked, limits))).toBe('risk.entries_blocked');
  });
});
