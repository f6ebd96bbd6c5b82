import fc from 'fast-check';
import { ORDER_TYPES, type OrderSide } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { dailyLossCheck } from './checks/daily-loss.check.js';
import { duplicateOrderCheck } from './checks/duplicate-order.check.js';
import { expiryCheck } from './checks/expiry.check.js';
import { instrumentAllowedCheck } from './checks/instrument-allowed.check.js';
import { marketDataCheck } from './checks/market-data.check.js';
import { marketOrdersCheck } from './checks/market-orders.check.js';
import { maxGrossExposureCheck } from './checks/max-gross-exposure.check.js';
import { maxNotionalCheck } from './checks/max-notional.check.js';
import { maxPositionCheck } from './checks/max-position.check.js';
import { maxQuantityCheck } from './checks/max-quantity.check.js';
import { maxWorkingOrdersCheck } from './checks/max-working-orders.check.js';
import { messageRateCheck } from './checks/message-rate.check.js';
import { positionBreakCheck } from './checks/position-break.check.js';
import { positionLossCheck } from './checks/position-loss.check.js';
import { priceCollarCheck } from './checks/price-collar.check.js';
import { productCheck } from './checks/product.check.js';
import { reduceOnlyCheck } from './checks/reduce-only.check.js';
import { tickSizeCheck } from './checks/tick-size.check.js';
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
      positionBreakCheck,
      dailyLossCheck,
      positionLossCheck,
      instrumentAllowedCheck,
      productCheck,
      expiryCheck,
      tickSizeCheck,
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
    expect(RISK_CODES.slice(15)).toEqual([
      'risk.unknown_product',
      'risk.instrument_expired',
      'risk.opening_cutoff',
      'risk.tick_size',
      'risk.max_position_loss',
      'risk.loss_limit_widening',
      'risk.position_break',
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
    // halted: exits as marketable limit orders inside the collar only, and never without current data
    [
      'halted: an exit as a marketable limit inside the collar',
      intent({ side: 'sell', limitPrice: d('167.40') }),
      context({ tradingState: 'halted', positionQuantity: d('100') }),
      'approved',
    ],
    [
      'halted: an exit resting above the bid',
      intent({ side: 'sell', limitPrice: d('167.41') }),
      context({ tradingState: 'halted', positionQuantity: d('100') }),
      'risk.trading_halted',
    ],
    [
      'halted: a marketable exit outside the collar',
      intent({ side: 'sell', limitPrice: d('120.00') }),
      context({ tradingState: 'halted', positionQuantity: d('100') }),
      'risk.price_collar',
    ],
    [
      'halted: a limit exit with stale data',
      intent({ side: 'sell', limitPrice: d('167.40') }),
      context({ tradingState: 'halted', positionQuantity: d('100'), quoteAgeMs: STALE }),
      'risk.trading_halted',
    ],
    // static facts of the order, always on
    ['an off-tick SPY limit', intent({ limitPrice: d('167.415') }), context(), 'risk.tick_size'],
    ['an off-tick SPXW limit', spxwIntent({ limitPrice: d('4.95') }), spxwContext(), 'risk.tick_size'],
    [
      'an option on an unsupported root',
      spxwIntent({ symbol: 'NDX   210104C12800000' }),
      spxwContext({ quote: undefined, quoteAgeMs: null }),
      'risk.unknown_product',
    ],
    [
      'the tick beats the collar: an off-tick SPY limit far away',
      intent({ limitPrice: d('184.165') }),
      context(),
      'risk.tick_size',
    ],
    [
      'an expired SPXW call (marketNow 16:00 ET) beats stale data',
      spxwIntent(),
      spxwContext({ marketNow: Date.UTC(2021, 0, 4, 21), quoteAgeMs: STALE }),
      'risk.instrument_expired',
    ],
    ['without a clock the expiry is not checked', spxwIntent(), spxwContext({ now: undefined }), 'approved'],
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
      maxPositionLoss: d('500'),
      zeroDteCutoffMinutes: 30,
      priceCollarAbsolute: d('0.10'),
      stopCollarPercent: d('20'),
      productCollars: { 'root:SPXW': { percent: d('20'), absolute: d('0.50') } },
      maxOrderToTradeRatio: d('50'),
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
    // SPY long 100 bought at 175: at the mark 167.41 it has lost 759 (more than 500).
    const SPY_LOSING = position({ quantity: d('100'), averagePrice: d('175') });
    const CUTOFF = Date.UTC(2021, 0, 4, 20, 30); // 15:30 ET: 30 minutes before the SPXW call stops trading
    const spxwFull = (overrides: Partial<RiskContext> = {}): RiskContext =>
      spxwContext({ ...accountState, marketNow: NOW, ...overrides });

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
      // the position loss: after the daily loss, before the allow-list
      [
        'the daily loss beats the position loss',
        intent(),
        full({ dailyPnl: LOST, positionQuantity: d('100'), positions: [SPY_LOSING] }),
        'risk.daily_loss',
      ],
      [
        'the position loss beats the tick',
        intent({ limitPrice: d('167.415') }),
        full({ positionQuantity: d('100'), positions: [SPY_LOSING] }),
        'risk.max_position_loss',
      ],
      [
        'a losing position may still be closed',
        intent({ side: 'sell' }),
        full({ positionQuantity: d('100'), positions: [SPY_LOSING] }),
        'approved',
      ],
      // product, expiry and tick: after the allow-list, before market orders
      [
        'the allow-list beats the product: an NDX call',
        spxwIntent({ symbol: 'NDX   210104C12800000' }),
        spxwFull(),
        'risk.instrument_not_allowed',
      ],
      [
        'the expiry beats the tick: an off-tick SPXW buy at 16:00 ET',
        spxwIntent({ limitPrice: d('4.95') }),
        spxwFull({ marketNow: Date.UTC(2021, 0, 4, 21) }),
        'risk.instrument_expired',
      ],
      [
        'the 0DTE cutoff beats market orders: an SPXW market buy at 15:30 ET',
        spxwIntent({ type: 'market', limitPrice: null }),
        spxwFull({ marketNow: CUTOFF }),
        'risk.opening_cutoff',
      ],
      ['at 15:29:59.999 ET the SPXW buy passes', spxwIntent(), spxwFull({ marketNow: CUTOFF - 1 }), 'approved'],
      [
        'after the cutoff an SPXW exit passes',
        spxwIntent({ side: 'sell', quantity: d('5'), positionEffect: 'close' }),
        spxwFull({ marketNow: CUTOFF, positionQuantity: d('5') }),
        'approved',
      ],
      [
        'the tick beats market orders and the collar',
        intent({ type: 'stop', limitPrice: null, stopPrice: d('250.005') }),
        full(),
        'risk.tick_size',
      ],
      // collars: the product's for SPXW (±20 % of 4.90 = [3.92, 5.88]); the stop collar (±20 %) for stops
      ['SPXW buy 5.80, inside its product collar', spxwIntent({ limitPrice: d('5.80') }), spxwFull(), 'approved'],
      ['SPXW buy 5.90, outside it', spxwIntent({ limitPrice: d('5.90') }), spxwFull(), 'risk.price_collar'],
      [
        'a protective SPY buy stop 190 (+13.5 %) inside the stop collar',
        intent({ type: 'stop_limit', stopPrice: d('190'), limitPrice: d('191') }),
        full(),
        'approved',
      ],
      [
        'a protective SPY buy stop 201 (+20.07 %) outside the stop collar',
        intent({ type: 'stop_limit', stopPrice: d('201'), limitPrice: d('201') }),
        full(),
        'risk.price_collar',
      ],
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

  it('denies a halted account every order but a marketable limit exit inside the collar (property)', () => {
    const anyIntent = fc
      .record({
        side: fc.constantFrom<OrderSide>('buy', 'sell'),
        type: fc.constantFrom(...ORDER_TYPES),
        quantity: fc.integer({ min: 1, max: 100_000 }),
        // prices around the SPY mid 167.41, so that both sides of the collar come up
        cents: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 14_000, max: 19_500 })),
        position: fc.integer({ min: -100_000, max: 100_000 }),
        effect: fc.constantFrom<OrderIntent['positionEffect']>('open', 'close', null),
        stale: fc.boolean(),
      })
      .map(({ side, type, quantity, cents, position, effect, stale }) => ({
        order: intent({
          side,
          type,
          quantity: d(String(quantity)),
          limitPrice: type === 'limit' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          stopPrice: type === 'stop' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          positionEffect: effect,
        }),
        position: d(String(position)),
        stale,
      }));
    const mid = d('167.41');
    fc.assert(
      fc.property(anyIntent, ({ order, position, stale }) => {
        const ctx = context({
          tradingState: 'halted',
          positionQuantity: position,
          ...(stale ? { quoteAgeMs: STALE } : {}),
        });
        const decision = engine.check(order, ctx, limits);
        const exit =
          order.type === 'limit' &&
          order.positionEffect !== 'open' &&
          !position.isZero() &&
          (order.side === 'sell') === position.isPositive() &&
          order.quantity.lessThanOrEqualTo(position.abs()) &&
          !stale;
        // marketable against bid 167.40 / ask 167.42
        const marketable =
          exit && (order.side === 'sell' ? order.limitPrice!.lte('167.40') : order.limitPrice!.gte('167.42'));
        const insideCollar = marketable && order.limitPrice!.minus(mid).abs().lessThanOrEqualTo(mid.times('0.1'));
        if (!marketable) {
          expect(outcome(decision)).toBe('risk.trading_halted');
        } else if (!insideCollar) {
          // denied by the collar, or by a size check that runs before it
          expect(['risk.price_collar', 'risk.max_quantity', 'risk.max_notional']).toContain(outcome(decision));
        } else {
          // the later checks still apply to an exit (size, notional)
          expect(outcome(decision)).not.toBe('risk.trading_halted');
        }
      }),
    );
  });
});
