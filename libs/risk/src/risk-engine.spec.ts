import fc from 'fast-check';
import { ORDER_TYPES, type OrderSide } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { dailyLossCheck } from './checks/daily-loss.check.js';
import { duplicateOrderCheck } from './checks/duplicate-order.check.js';
import { instrumentAllowedCheck } from './checks/instrument-allowed.check.js';
import { marketDataCheck } from './checks/market-data.check.js';
import { marketOrdersCheck } from './checks/market-orders.check.js';
import { maxGrossExposureCheck } from './checks/max-gross-exposure.check.js';
import { maxNotionalCheck } from './checks/max-notional.check.js';
import { maxPositionCheck } from './checks/max-position.check.js';
import { maxQuantityCheck } from './checks/max-quantity.check.js';
import { maxWorkingOrdersCheck } from './checks/max-working-orders.check.js';
import { messageRateCheck } from './checks/message-rate.check.js';
import { priceCollarCheck } from './checks/price-collar.check.js';
import { reduceOnlyCheck } from './checks/reduce-only.check.js';
import { tradingStateCheck } from './checks/trading-state.check.js';
import type { OrderIntent } from './order-intent.js';
import type { RiskCheck } from './risk-check.js';
import type { RiskContext } from './risk-context.js';
import { APPROVED, deny, RISK_CODES } from './risk-decision.js';
import { DEFAULT_RISK_CHECKS, RiskEngine } from './risk-engine.js';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from './risk-limits.js';
import {
  context,
  d,
  dailyPnl,
  intent,
  limits,
  messageCounts,
  NOW,
  position,
  recentOrder,
  spxwContext,
  spxwIntent,
  working,
  workingOrders,
} from './testing/risk-fixtures.js';
import { outcome } from './testing/outcome.js';

const engine = new RiskEngine();
const STALE = 120_001;
// Breaks every size and price limit at once: 10001 × 184.16 = 1841784.16 USD, limit 10 % above the mid.
const oversized = intent({ quantity: d('10001'), limitPrice: d('184.16') });

describe('RiskEngine', () => {
  it('runs the checks in the documented order: authority, permissions, the order, the account, the rate', () => {
    expect(DEFAULT_RISK_CHECKS).toEqual([
      tradingStateCheck,
      dailyLossCheck,
      instrumentAllowedCheck,
      marketOrdersCheck,
      duplicateOrderCheck,
      reduceOnlyCheck,
      marketDataCheck,
      maxQuantityCheck,
      maxNotionalCheck,
      priceCollarCheck,
      maxPositionCheck,
      maxGrossExposureCheck,
      maxWorkingOrdersCheck,
      messageRateCheck,
    ]);
  });

  it('keeps the codes clients already match on, in place', () => {
    expect(RISK_CODES.slice(0, 6)).toEqual([
      'risk.trading_halted',
      'risk.entries_blocked',
      'risk.stale_market_data',
      'risk.max_quantity',
      'risk.max_notional',
      'risk.price_collar',
    ]);
    expect(new Set(RISK_CODES).size).toBe(RISK_CODES.length);
  });

  it('ships the documented paper defaults', () => {
    expect({
      maxOrderQuantity: DEFAULT_RISK_LIMITS.maxOrderQuantity.toFixed(),
      maxOrderNotional: DEFAULT_RISK_LIMITS.maxOrderNotional.toFixed(),
      priceCollarPercent: DEFAULT_RISK_LIMITS.priceCollarPercent.toFixed(),
      maxQuoteAgeMs: DEFAULT_RISK_LIMITS.maxQuoteAgeMs,
    }).toEqual({
      maxOrderQuantity: '10000',
      maxOrderNotional: '1000000',
      priceCollarPercent: '10',
      maxQuoteAgeMs: 120_000,
    });
    expect(Object.isFrozen(DEFAULT_RISK_LIMITS)).toBe(true);
  });

  it.each([
    ['an ordinary SPY limit buy', intent(), context(), 'approved'],
    ['an ordinary SPXW market buy', spxwIntent({ type: 'market', limitPrice: null }), spxwContext(), 'approved'],
    [
      'halted beats stale data and every limit',
      oversized,
      context({ tradingState: 'halted', quoteAgeMs: STALE }),
      'risk.trading_halted',
    ],
    [
      'halted beats entries blocked',
      intent(),
      context({ tradingState: 'halted', entriesBlockedReason: 'restart' }),
      'risk.trading_halted',
    ],
    [
      'reducing beats stale data and every limit',
      oversized,
      context({ tradingState: 'reducing', quoteAgeMs: STALE }),
      'risk.entries_blocked',
    ],
    [
      'entries blocked beats missing data',
      oversized,
      context({ entriesBlockedReason: 'broker reconnect', quote: undefined, quoteAgeMs: null }),
      'risk.entries_blocked',
    ],
    ['stale data beats every limit', oversized, context({ quoteAgeMs: STALE }), 'risk.stale_market_data'],
    ['max quantity beats notional and collar', oversized, context(), 'risk.max_quantity'],
    [
      'max notional beats the collar',
      intent({ quantity: d('6000'), limitPrice: d('184.16') }),
      context(),
      'risk.max_notional',
    ],
    ['the collar alone', intent({ limitPrice: d('184.16') }), context(), 'risk.price_collar'],
    // exits stay possible as limit orders, even against data too old to collar them
    [
      'reducing, stale data: sell the whole long at a limit far below the stale mid',
      intent({ side: 'sell', limitPrice: d('120.00') }),
      context({ tradingState: 'reducing', quoteAgeMs: STALE, positionQuantity: d('100') }),
      'approved',
    ],
    [
      'entries blocked, no quote: buy 5 SPXW to close a short 5',
      spxwIntent({ quantity: d('5'), positionEffect: 'close' }),
      spxwContext({
        entriesBlockedReason: 'unknown order',
        quote: undefined,
        quoteAgeMs: null,
        positionQuantity: d('-5'),
      }),
      'approved',
    ],
    [
      'an exit is still sized: 10001 to close a long 20000 with stale data',
      intent({ side: 'sell', quantity: d('10001') }),
      context({ quoteAgeMs: STALE, positionQuantity: d('20000') }),
      'risk.max_quantity',
    ],
    [
      'an exit is still valued: sell 9000 @ 167.41 with fresh data',
      intent({ side: 'sell', quantity: d('9000') }),
      context({ positionQuantity: d('9000') }),
      'risk.max_notional',
    ],
    [
      'reducing, fresh data: an exit is collared',
      intent({ side: 'sell', limitPrice: d('120.00') }),
      context({ tradingState: 'reducing', positionQuantity: d('100') }),
      'risk.price_collar',
    ],
    [
      'stale data: a market exit is refused',
      intent({ side: 'sell', type: 'market', limitPrice: null }),
      context({ quoteAgeMs: STALE, positionQuantity: d('100') }),
      'risk.stale_market_data',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(engine.check(order, ctx, limits))).toBe(expected);
  });

  describe('with every check on', () => {
    const all: RiskLimits = {
      ...limits,
      allowedSymbols: ['SPY', 'root:SPXW'],
      allowMarketOrders: false,
      duplicateWindowMs: 2_000,
      maxDailyLoss: d('1000'),
      maxPositionQuantity: d('1000'),
      maxGrossExposure: d('200000'),
      maxWorkingOrders: 3,
      maxMessagesPerSecond: 5,
      maxMessagesPerMinute: 100,
    };
    const accountState: Partial<RiskContext> = {
      workingOrders: [],
      positions: [],
      recentOrders: [],
      now: NOW,
      messageCounts: messageCounts(0, 0),
      dailyPnl: dailyPnl('0', '0'),
    };
    const full = (overrides: Partial<RiskContext> = {}): RiskContext => context({ ...accountState, ...overrides });
    const LOST = dailyPnl('-600', '-400');
    const QQQ_LONG_500 = position({ symbol: 'QQQ', quantity: d('500'), markPrice: d('300') });
    const qqqExit = intent({ symbol: 'QQQ', side: 'sell', quantity: d('500'), limitPrice: d('300') });
    const closeSell100 = intent({ side: 'sell', positionEffect: 'close' });
    const closing100 = working({ side: 'sell', positionEffect: 'close' });

    it.each([
      ['an ordinary SPY limit buy', intent(), full(), 'approved'],
      ['an ordinary SPXW limit buy', spxwIntent(), spxwContext(accountState), 'approved'],
      [
        'halted beats the daily loss',
        intent(),
        full({ tradingState: 'halted', dailyPnl: LOST }),
        'risk.trading_halted',
      ],
      ['the daily loss beats the allow-list', intent({ symbol: 'QQQ' }), full({ dailyPnl: LOST }), 'risk.daily_loss'],
      [
        'the allow-list beats market orders',
        intent({ symbol: 'QQQ', type: 'market', limitPrice: null }),
        full(),
        'risk.instrument_not_allowed',
      ],
      [
        'market orders beat a duplicate',
        intent({ type: 'market', limitPrice: null }),
        full({ recentOrders: [recentOrder(100, { type: 'market', limitPrice: null })] }),
        'risk.market_orders_not_allowed',
      ],
      [
        'a duplicate beats the limits that count the original: buy 1000 twice',
        intent({ quantity: d('1000') }),
        full({
          recentOrders: [recentOrder(300, { quantity: d('1000') })],
          workingOrders: [working({ leavesQuantity: d('1000') })],
        }),
        'risk.duplicate_order',
      ],
      [
        'a duplicate beats reduce-only: close 100 of a long 100 twice',
        closeSell100,
        full({
          positionQuantity: d('100'),
          recentOrders: [recentOrder(300, { side: 'sell' })],
          workingOrders: [closing100],
        }),
        'risk.duplicate_order',
      ],
      [
        'reduce-only beats stale data: close 101 of a long 100',
        intent({ side: 'sell', quantity: d('101'), positionEffect: 'close' }),
        full({ positionQuantity: d('100'), quoteAgeMs: STALE }),
        'risk.reduce_only',
      ],
      [
        'stale data beats the position limit',
        intent({ quantity: d('1001') }),
        full({ quoteAgeMs: STALE }),
        'risk.stale_market_data',
      ],
      [
        'the collar beats the position limit',
        intent({ quantity: d('1001'), limitPrice: d('184.16') }),
        full(),
        'risk.price_collar',
      ],
      [
        'the position limit beats gross exposure',
        intent({ quantity: d('1001') }),
        full({ positions: [QQQ_LONG_500] }),
        'risk.max_position',
      ],
      [
        'gross exposure beats the working orders limit: 150000 + 480 + 66964',
        intent({ quantity: d('400') }),
        full({ positions: [QQQ_LONG_500], workingOrders: workingOrders(3) }),
        'risk.max_gross_exposure',
      ],
      [
        'the working orders limit beats the message rate',
        intent(),
        full({ workingOrders: workingOrders(3), messageCounts: messageCounts(5, 5) }),
        'risk.max_working_orders',
      ],
      ['the message rate, last', intent(), full({ messageCounts: messageCounts(0, 100) }), 'risk.message_rate'],
      // exits: past the loss limit, off the allow-list, over the gross limit, without a quote of their own
      [
        'after the loss limit, QQQ off the list, gross exposure over: sell the QQQ long 500',
        qqqExit,
        full({
          dailyPnl: LOST,
          positionQuantity: d('500'),
          positions: [QQQ_LONG_500, position({ quantity: d('1000') })],
        }),
        'approved',
      ],
      [
        'but an exit still counts against the working orders limit',
        qqqExit,
        full({
          dailyPnl: LOST,
          positionQuantity: d('500'),
          positions: [QQQ_LONG_500],
          workingOrders: workingOrders(3),
        }),
        'risk.max_working_orders',
      ],
      [
        'and against the message rate',
        qqqExit,
        full({
          dailyPnl: LOST,
          positionQuantity: d('500'),
          positions: [QQQ_LONG_500],
          messageCounts: messageCounts(5, 0),
        }),
        'risk.message_rate',
      ],
    ] as const)('%s → %s', (_name, order, ctx, expected) => {
      expect(outcome(engine.check(order, ctx, all))).toBe(expected);
    });
  });

  it('returns the first denial and runs nothing after it', () => {
    const calls: string[] = [];
    const approve =
      (name: string): RiskCheck =>
      () => {
        calls.push(name);
        return APPROVED;
      };
    const refuse =
      (name: string): RiskCheck =>
      () => {
        calls.push(name);
        return deny('risk.max_quantity', name);
      };
    const custom = new RiskEngine([approve('a'), refuse('b'), refuse('c'), approve('d')]);
    expect(custom.check(intent(), context(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.max_quantity',
      reason: 'b',
    });
    expect(calls).toEqual(['a', 'b']);
  });

  it('passes the intent, context and limits through to every check', () => {
    const seen: unknown[][] = [];
    const spy: RiskCheck = (...args) => {
      seen.push(args);
      return APPROVED;
    };
    const [i, c] = [intent(), context()];
    expect(new RiskEngine([spy, spy]).check(i, c, limits)).toEqual({ kind: 'approved' });
    expect(seen).toEqual([
      [i, c, limits],
      [i, c, limits],
    ]);
  });

  it('denies every order of a halted account, whatever it is (property)', () => {
    const anyIntent = fc
      .record({
        side: fc.constantFrom<OrderSide>('buy', 'sell'),
        type: fc.constantFrom(...ORDER_TYPES),
        quantity: fc.integer({ min: 1, max: 100_000 }),
        cents: fc.integer({ min: 1, max: 100_000 }),
        position: fc.integer({ min: -100_000, max: 100_000 }),
        effect: fc.constantFrom<OrderIntent['positionEffect']>('open', 'close', null),
      })
      .map(({ side, type, quantity, cents, position, effect }) => ({
        order: intent({
          side,
          type,
          quantity: d(String(quantity)),
          limitPrice: type === 'limit' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          stopPrice: type === 'stop' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          positionEffect: effect,
        }),
        position: d(String(position)),
      }));
    fc.assert(
      fc.property(anyIntent, ({ order, position }) => {
        expect(
          outcome(engine.check(order, context({ tradingState: 'halted', positionQuantity: position }), limits)),
        ).toBe('risk.trading_halted');
      }),
    );
  });
});
