// Builders for the risk specs (not exported from index.ts). Prices are realistic: SPY around 167.41,
// an SPXW 0DTE call around 4.90 with a 20-cent spread, multiplier 100.
import { Decimal, type Quote } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type {
  DailyPnl,
  MessageCounts,
  PositionExposure,
  RecentOrder,
  RiskContext,
  WorkingExposure,
  WorkingOrderExposure,
} from '../risk-context.js';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from '../risk-limits.js';
import { workingExposure } from '../working-orders.js';

export const SPY = 'SPY';
export const SPXW_CALL = 'SPXW  210104C03700000';
export const limits: RiskLimits = DEFAULT_RISK_LIMITS;
/** The clock's now in the specs: the quote's time, 2021-01-04 15:30 UTC. */
export const NOW = Date.UTC(2021, 0, 4, 15, 30);

export function d(text: string): Decimal {
  return new Decimal(text);
}

export function quote(overrides: Partial<Quote> = {}): Quote {
  return {
    symbol: SPY,
    bid: d('167.40'),
    ask: d('167.42'),
    bidSize: d('300'),
    askSize: d('500'),
    last: d('167.41'),
    ts: Date.UTC(2021, 0, 4, 15, 30),
    source: 'test',
    ...overrides,
  };
}

export function spxwQuote(overrides: Partial<Quote> = {}): Quote {
  return quote({
    symbol: SPXW_CALL,
    bid: d('4.80'),
    ask: d('5.00'),
    bidSize: d('25'),
    askSize: d('40'),
    last: d('4.90'),
    ...overrides,
  });
}

/** Buy 100 SPY limit 167.41, no position effect. */
export function intent(overrides: Partial<OrderIntent> = {}): OrderIntent {
  return {
    symbol: SPY,
    side: 'buy',
    type: 'limit',
    quantity: d('100'),
    limitPrice: d('167.41'),
    stopPrice: null,
    multiplier: d('1'),
    positionEffect: null,
    ...overrides,
  };
}

/** Buy 10 SPXW calls limit 4.90. */
export function spxwIntent(overrides: Partial<OrderIntent> = {}): OrderIntent {
  return intent({ symbol: SPXW_CALL, quantity: d('10'), limitPrice: d('4.90'), multiplier: d('100'), ...overrides });
}

/** An active account, flat, with a 1-second-old SPY quote. */
export function context(overrides: Partial<RiskContext> = {}): RiskContext {
  return {
    quote: quote(),
    quoteAgeMs: 1_000,
    tradingState: 'active',
    entriesBlockedReason: null,
    positionQuantity: d('0'),
    ...overrides,
  };
}

export function spxwContext(overrides: Partial<RiskContext> = {}): RiskContext {
  return context({ quote: spxwQuote(), quoteAgeMs: 30_000, ...overrides });
}

/** A working SPY buy limit, 100 left at 167.41, no position effect: the order alone, summed. */
export function working(overrides: Partial<WorkingOrderExposure> = {}): WorkingExposure {
  return workingExposure([workingOrder(overrides)])[0]!;
}

/** The order of `working`. */
export function workingOrder(overrides: Partial<WorkingOrderExposure> = {}): WorkingOrderExposure {
  return {
    symbol: SPY,
    side: 'buy',
    type: 'limit',
    leavesQuantity: d('100'),
    limitPrice: d('167.41'),
    stopPrice: null,
    multiplier: d('1'),
    positionEffect: null,
    ...overrides,
  };
}

/** A working SPXW call buy limit, 10 left at 4.90. */
export function spxwWorking(overrides: Partial<WorkingOrderExposure> = {}): WorkingExposure {
  return working({
    symbol: SPXW_CALL,
    leavesQuantity: d('10'),
    limitPrice: d('4.90'),
    multiplier: d('100'),
    ...overrides,
  });
}

/** `count` working orders (SPY buy limits of 1 at 160), each summed alone, for the count limit. */
export function workingOrders(count: number, overrides: Partial<WorkingOrderExposure> = {}): WorkingExposure[] {
  return Array.from({ length: count }, () => working({ leavesQuantity: d('1'), limitPrice: d('160'), ...overrides }));
}

/** A long SPY position of 100 marked at 167.41. */
export function position(overrides: Partial<PositionExposure> = {}): PositionExposure {
  return { symbol: SPY, quantity: d('100'), markPrice: d('167.41'), multiplier: d('1'), ...overrides };
}

/** The order `intent()` (buy 100 SPY limit 167.41), accepted `ageMs` before NOW. */
export function recentOrder(ageMs: number, overrides: Partial<RecentOrder> = {}): RecentOrder {
  return {
    symbol: SPY,
    side: 'buy',
    type: 'limit',
    quantity: d('100'),
    limitPrice: d('167.41'),
    stopPrice: null,
    createdAt: NOW - ageMs,
    ...overrides,
  };
}

/** An accepted order just like `order`, `ageMs` before NOW. */
export function recentOrderLike(order: OrderIntent, ageMs: number): RecentOrder {
  const { symbol, side, type, quantity, limitPrice, stopPrice } = order;
  return { symbol, side, type, quantity, limitPrice, stopPrice, createdAt: NOW - ageMs };
}

export function messageCounts(lastSecond: number, lastMinute: number): MessageCounts {
  return { lastSecond, lastMinute };
}

/** Today's P&L in USD, from decimal strings. */
export function dailyPnl(realized: string, unrealized: string): DailyPnl {
  return { realized: d(realized), unrealized: d(unrealized) };
}
