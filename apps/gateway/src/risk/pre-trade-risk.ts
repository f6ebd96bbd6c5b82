import { type Clock, contractMultiplier, Decimal, type MarketDataFeed, tradingDayOf } from '@gateway/oms';
import {
  type DailyPnl,
  type OrderIntent,
  type PositionExposure,
  type RecentOrder,
  referencePrice,
  type RiskContext,
  type RiskDecision,
  RiskEngine,
  type RiskLimits,
  type TradingState,
  type WorkingExposure,
  deny,
} from '@gateway/risk';
import type { BrokerAccount } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import { effectiveTradingState } from '../accounts/trading-state.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { BrokerOrderRate } from '../rate-limit/broker-order-rate.js';
import { CLOCK, MARKET_DATA } from '../market/market.tokens.js';
import type { AccountScope } from '../persistence/account-scope.js';
import type { LockedRead } from '../persistence/locked-reads.js';
import { OpenPositionBreakRepository } from './open-position-break.repository.js';
import { OrderMessageRepository } from './order-message.repository.js';
import { OrderMessages } from './order-messages.js';
import { type HeldPosition, RiskContextRepository } from './risk-context.repository.js';
import { RiskLimitsService } from './risk-limits.service.js';

/** The order to check, as validated at the edge (a new order, or what a replace would work). */
export type PreTradeRequest = Omit<OrderIntent, 'multiplier'>;

/** What the pre-trade check decided, and what it decided with. */
export interface PreTradeResult {
  readonly decision: RiskDecision;
  /** The account's effective trading state the order was checked in (kept on an accepted order). */
  readonly tradingState: TradingState;
  readonly limits: RiskLimits;
  /** The mid (bid + ask) / 2 of the quote the check used; null without a two-sided quote. */
  readonly intentMid: Decimal | null;
}

/**
 * Gathers an account's state for the pre-trade checks in the caller's transaction, under the account
 * lock (so racing orders on every instance see each other), and runs the checks of libs/risk with the
 * account's own limits from PostgreSQL. What a limit needs is read only when the limit is set.
 */
@Injectable()
export class PreTradeRisk {
  private readonly engine = new RiskEngine();

  constructor(
    private readonly limitsService: RiskLimitsService,
    private readonly messages: OrderMessages,
    private readonly messageCounts: OrderMessageRepository,
    private readonly reads: RiskContextRepository,
    private readonly brokers: AccountBrokers,
    private readonly brokerRate: BrokerOrderRate,
    private readonly positionBreaks: OpenPositionBreakRepository,
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * `replacing`: the order a replacement would take the place of, left out of the working orders (the
   * replacement is checked for what it would work, in its stead).
   */
  async check(tx: AccountScope, request: PreTradeRequest, replacing: string | null): Promise<PreTradeResult> {
    const { limits } = await this.limitsService.effective(tx.account.id, tx);
    // A ratio already at its ceiling (staff re-activated the account, or lowered the ceiling) makes the
    // account `reducing` before this order is checked, not after it has been accepted.
    await this.messages.enforceCeiling(tx, limits, this.clock.now());
    const context = await this.context(tx, request, replacing, limits);
    let decision = this.engine.check(
      {
        symbol: request.symbol,
        side: request.side,
        type: request.type,
        quantity: request.quantity,
        limitPrice: request.limitPrice,
        stopPrice: request.stopPrice,
        multiplier: contractMultiplier(request.symbol),
        positionEffect: request.positionEffect,
      },
      context,
      limits,
    );
    if (decision.kind === 'approved') {
      // Last, so that only an order about to be sent is counted against the broker's per-app limit.
      const rate = await this.brokerRate.take(tx.account.broker);
      if (rate.kind === 'limited') {
        decision = deny('risk.message_rate', rate.reason);
      }
    }
    const quote = context.quote;
    const intentMid = quote && quote.bid.gt(0) && quote.ask.gt(0) ? quote.bid.plus(quote.ask).div(2) : null;
    return { decision, tradingState: context.tradingState, limits, intentMid };
  }

  /**
   * The quotes the account's order is checked against: its broker's own when the broker has them (Schwab's
   * streamer, AccountBrokers.marketDataFor), else the deployment's (MARKET_DATA). A broker feed is never
   * topped up from the deployment's: a symbol it has not quoted is no quote (stale market data), whatever the
   * replay says. A feed that subscribes on demand is given its bounded wait for the symbol's first quote.
   */
  private async marketFor(tx: AccountScope, symbol: string): Promise<MarketDataFeed> {
    const feed = await this.brokers.marketDataFor(tx.account);
    if (feed === null) {
      return this.market;
    }
    await feed.awaitQuote?.(symbol);
    return feed;
  }

  private async context(
    tx: AccountScope,
    request: PreTradeRequest,
    replacing: string | null,
    limits: RiskLimits,
  ): Promise<RiskContext> {
    const now = this.clock.now();
    const market = await this.marketFor(tx, request.symbol);
    const quote = market.getQuote(request.symbol);
    const quoteAgeMs = quote ? market.quoteAgeMs(quote) : null;
    const needPositions = needsPositions(limits);
    // One round trip: the global state, every order that is or may be working at its worst case (its
    // whole remaining quantity) summed, the first unknown order in the symbol, and the positions; none
    // when sent with the account's lock (lockedReads).
    const reads = await this.reads.intentReads(tx, request.symbol, replacing, needPositions);
    const trading = effectiveTradingState(tx.account, reads.global);
    const { sums, unknownOrderId } = reads;
    const workingOrders: WorkingExposure[] = sums.map((s) => ({ ...s, multiplier: contractMultiplier(s.symbol) }));
    // An order whose outcome is unknown blocks new entries in its symbol until reconciliation settles it;
    // a broker disconnected (or reconnected and not yet reconciled) blocks entries on its own accounts.
    const blocked =
      tx.account.entriesBlockedReason ??
      this.brokers.entriesBlockedReason(tx.account) ??
      (unknownOrderId === null
        ? null
        : `order ${unknownOrderId} in ${request.symbol} is unknown until reconciliation settles it`);
    const rows = reads.positions;
    const position = rows.find((p) => p.symbol === request.symbol);
    const positions = needPositions ? rows.map((p) => this.exposure(market, p)) : undefined;
    return {
      quote,
      quoteAgeMs,
      // The feed's clock for the symbol: a replay's time of day on the day the symbol was recorded. A
      // broker's live feed has none (null): the calendar stays the deployment's, whose instruments these are.
      marketNow: market.marketNow(request.symbol) ?? this.market.marketNow(request.symbol) ?? now,
      tradingState: trading.state,
      entriesBlockedReason: blocked,
      positionQuantity: position ? position.quantity : new Decimal(0),
      // Position reconciliation found the symbol's position differs from the broker's (README, "Reconciliation").
      positionBreak: await this.positionBreaks.find(tx, request.symbol),
      workingOrders,
      now,
      ...(positions ? { positions } : {}),
      ...(positions && limits.maxDailyLoss !== undefined ? { dailyPnl: this.dailyPnl(rows, positions, now) } : {}),
      ...(limits.duplicateWindowMs !== undefined
        ? { recentOrders: await this.recentOrders(tx, now - limits.duplicateWindowMs, replacing) }
        : {}),
      ...(limits.maxMessagesPerSecond !== undefined || limits.maxMessagesPerMinute !== undefined
        ? { messageCounts: await this.messageCounts.rateCounts(tx, now) }
        : {}),
    };
  }

  /**
   * What `check` of an order in `symbol` reads, to send with the account's lock (LockedRead): the intent's
   * reads, with the positions as the account's limits last seen here need them (a guess: when the limits
   * in force under the lock need otherwise, the check reads again), and the symbol's position break.
   */
  lockedReads(accountId: string, symbol: string, replacing: string | null): LockedRead[] {
    const needPositions = needsPositions(this.limitsService.lastSeen(accountId));
    return [
      this.reads.intentReadsRead(accountId, symbol, replacing, needPositions),
      this.positionBreaks.findRead(accountId, symbol),
    ];
  }

  /**
   * Before the account's lock: waits for the first quote of `symbol` from the account broker's own feed
   * when it has one and has not quoted the symbol yet (MarketDataFeed.awaitQuote, bounded), so that the
   * wait never holds the lock; `check` then finds it there.
   */
  async awaitQuote(account: BrokerAccount, symbol: string): Promise<void> {
    const feed = await this.brokers.marketDataFor(account);
    await feed?.awaitQuote?.(symbol);
  }

  private exposure(market: MarketDataFeed, p: HeldPosition): PositionExposure {
    const quote = market.getQuote(p.symbol);
    return {
      symbol: p.symbol,
      quantity: p.quantity,
      markPrice: quote ? (referencePrice(quote)?.price ?? null) : null,
      multiplier: contractMultiplier(p.symbol),
      averagePrice: p.averagePrice,
    };
  }

  /**
   * Today's P&L: realized since the trading day's start, plus every open position at its mark against
   * its average price. A position without a mark (no quote) counts nothing unrealized.
   */
  private dailyPnl(rows: readonly HeldPosition[], positions: readonly PositionExposure[], now: number): DailyPnl {
    const today = tradingDayOf(now);
    const realized = rows.reduce(
      (sum, p) => (p.tradingDay === today ? sum.plus(p.realizedPnl.minus(p.dayStartRealizedPnl)) : sum),
      new Decimal(0),
    );
    const unrealized = positions.reduce(
      (sum, p) =>
        p.markPrice === null || p.averagePrice === undefined
          ? sum
          : sum.plus(p.quantity.times(p.markPrice.minus(p.averagePrice)).times(p.multiplier)),
      new Decimal(0),
    );
    return { realized, unrealized };
  }

  private async recentOrders(tx: AccountScope, since: number, replacing: string | null): Promise<RecentOrder[]> {
    // The window's edge counts (duplicate-order.check.ts).
    const placed = await this.reads.placedSince(tx, since);
    return placed
      .filter((o) => o.id !== replacing)
      .map((o) => ({
        symbol: o.symbol,
        side: o.side,
        type: o.type,
        quantity: o.quantity,
        limitPrice: o.limitPrice,
        stopPrice: o.stopPrice,
        createdAt: o.createdAt,
      }));
  }
}

/** Whether the checks under `limits` need every position of the account, not only the order's symbol's. */
function needsPositions(limits: RiskLimits): boolean {
  return (
    limits.maxGrossExposure !== undefined || limits.maxDailyLoss !== undefined || limits.maxPositionLoss !== undefined
  );
}
