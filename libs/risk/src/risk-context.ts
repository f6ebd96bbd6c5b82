import type { Decimal, OrderSide, OrderType, PositionEffect, Quote } from '@gateway/oms';
import type { TradingState } from './trading-state.js';

/**
 * One order of the account that may still trade: every order in `pending_new`, `new`, `partially_filled`,
 * `pending_cancel`, `pending_replace` or `unknown`. An `unknown` order belongs here with its whole leaves
 * quantity: its fills are not confirmed, so it is not in any position, but it may be working at the
 * venue. The checks read working orders summed (`WorkingExposure`, `workingExposure`).
 */
export interface WorkingOrderExposure {
  /** The same spelling as `OrderIntent.symbol` (equity ticker, padded OSI symbol). */
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  /** Shares or contracts still open: quantity − confirmed fills (FIX LeavesQty, tag 151), ≥ 0. */
  readonly leavesQuantity: Decimal;
  /** Set for `limit` and `stop_limit` orders, null otherwise. */
  readonly limitPrice: Decimal | null;
  /** Set for `stop` and `stop_limit` orders, null otherwise. */
  readonly stopPrice: Decimal | null;
  /** Contract multiplier: 1 for equities, 100 for standard options. */
  readonly multiplier: Decimal;
  readonly positionEffect: PositionEffect | null;
}

/**
 * Working orders of the account (`WorkingOrderExposure`: `unknown` ones included) in one symbol on one
 * side, summed: what the exposure checks read of them, whatever their number. Stop orders (a stop price
 * and no limit price) are summed apart from the others, by stop price (`stopPrice`), since gross exposure
 * values each at the higher of its stop price and the mark. Any split of the same orders into
 * `WorkingExposure`s is the same to the checks.
 */
export interface WorkingExposure {
  /** The same spelling as `OrderIntent.symbol` (equity ticker, padded OSI symbol). */
  readonly symbol: string;
  readonly side: OrderSide;
  /** How many orders are summed here, ≥ 1. */
  readonly orderCount: number;
  /** Their leaves quantities summed (FIX LeavesQty, tag 151), shares or contracts, ≥ 0. */
  readonly leavesQuantity: Decimal;
  /** The part of `leavesQuantity` of the orders marked `positionEffect: 'close'`. */
  readonly closingQuantity: Decimal;
  /** The stop price of the stop orders summed here; null: the orders are not stop orders. */
  readonly stopPrice: Decimal | null;
  /**
   * Σ leaves × limit price of the orders with a limit price (`limit`, `stop_limit`), USD before the
   * multiplier; 0 when there is none.
   */
  readonly limitNotional: Decimal;
  /** The part of `leavesQuantity` of the orders with neither a limit nor a stop price (market orders). */
  readonly marketQuantity: Decimal;
  /** Contract multiplier: 1 for equities, 100 for standard options. */
  readonly multiplier: Decimal;
}

/** One of the account's positions, from confirmed fills only. */
export interface PositionExposure {
  readonly symbol: string;
  /** Signed: long > 0, short < 0. */
  readonly quantity: Decimal;
  /** What one share or contract is worth now, in USD before the multiplier; null when unknown. */
  readonly markPrice: Decimal | null;
  readonly multiplier: Decimal;
  /**
   * The average open price of the position (`Position.averagePrice`, average-cost method), USD per share
   * or contract; undefined when the caller does not gather it (position loss check).
   */
  readonly averagePrice?: Decimal;
}

/** An order the account placed recently that was accepted (denied ones do not count), for the duplicate check. */
export interface RecentOrder {
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
  /** Epoch ms, on the same clock as `RiskContext.now`. */
  readonly createdAt: number;
}

/** Messages already sent to the broker (new orders, replaces and cancels) in the trailing second and minute. */
export interface MessageCounts {
  readonly lastSecond: number;
  readonly lastMinute: number;
}

/** Today's profit and loss of the account in USD, signed (a loss is negative). */
export interface DailyPnl {
  /** From today's closing fills. */
  readonly realized: Decimal;
  /** Open positions at their marks against their cost. */
  readonly unrealized: Decimal;
}

/** An open position break (reconciliation): `ours` and `broker` are the signed quantities it found. */
export interface PositionBreak {
  readonly id: string;
  readonly ours: Decimal;
  readonly broker: Decimal;
}

/**
 * The account's and the market's state that a risk check needs, gathered by the caller (no I/O here).
 * The optional fields feed the account-level checks; a check whose context is absent approves (so
 * callers that do not gather it keep their behaviour), so a caller that sets a limit must supply its
 * context: an empty list when there is nothing, never undefined.
 */
export interface RiskContext {
  /** The latest quote of the intent's symbol; undefined when the feed has none. */
  readonly quote: Quote | undefined;
  /** How old `quote` is, in ms on the feed's clock (`MarketDataFeed.quoteAgeMs`); null when unknown. */
  readonly quoteAgeMs: number | null;
  readonly tradingState: TradingState;
  /**
   * Why entries are blocked for this account and symbol, or null: an `unknown` order in the symbol, a
   * broker reconnect or a restart not yet reconciled (ARCHITECTURE.md). Exits stay possible.
   */
  readonly entriesBlockedReason: string | null;
  /** The account's signed position in the symbol, from confirmed fills: long > 0, short < 0, flat 0. */
  readonly positionQuantity: Decimal;
  /**
   * The open position break in the intent's symbol (position reconciliation found our position and the
   * broker's differ, and no clean pass or risk staff's acknowledgement has closed it), or null/absent.
   */
  readonly positionBreak?: PositionBreak | null;
  /**
   * Every working order of the account, all symbols, summed by symbol and side (max position, gross
   * exposure, working orders, reduce-only).
   */
  readonly workingOrders?: readonly WorkingExposure[];
  /**
   * The account's positions, all symbols, including the intent's (gross exposure). A flat one may be
   * listed for its mark, which then values working market orders in its symbol.
   */
  readonly positions?: readonly PositionExposure[];
  /** The account's accepted orders of at least the last `duplicateWindowMs` (duplicate check). */
  readonly recentOrders?: readonly RecentOrder[];
  /** Now, epoch ms, from the injected Clock (duplicate check; the session checks without `marketNow`). */
  readonly now?: number;
  /**
   * Now on the market's clock for the intent's symbol, epoch ms: live, the wall time; on the paper venue,
   * which replays recorded days, the quote's time plus its age. The product and session checks (expiry,
   * 0DTE cutoff) use `marketNow ?? now`, and approve when neither is given.
   */
  readonly marketNow?: number;
  /** Messages the account's traders already sent (orders, replaces, cancels; not the kill switch's cancels). */
  readonly messageCounts?: MessageCounts;
  /** Today's P&L of the account (daily loss check). `positions` also feeds the position loss check. */
  readonly dailyPnl?: DailyPnl;
}
