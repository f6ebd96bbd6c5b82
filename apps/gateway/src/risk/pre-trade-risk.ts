import {
  type Clock,
  contractMultiplier,
  Decimal,
  type MarketDataFeed,
  OPEN_STATUSES,
  tradingDayOf,
} from '@gateway/oms';
import {
  type DailyPnl,
  type PositionExposure,
  type RecentOrder,
  referencePrice,
  type RiskContext,
  type RiskDecision,
  RiskEngine,
  type RiskLimits,
  type TradingState,
  type WorkingOrderExposure,
} from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import { In, MoreThanOrEqual, Not } from 'typeorm';
import { OrderEntity, PositionEntity } from '../database/entities.js';
import { CLOCK, MARKET_DATA } from '../market/market.tokens.js';
import type { AccountTransaction } from '../orders/order-ledger.js';
import { toDomainOrder } from '../orders/order.mapper.js';
import type { PlaceOrderRequest } from '../orders/place-order.request.js';
import { OrderMessages } from './order-messages.js';
import { RiskLimitsService } from './risk-limits.service.js';
import { effectiveTradingState, readGlobalTradingState } from './trading-state.store.js';

/** What the pre-trade check decided, and what it decided with. */
export interface PreTradeResult {
  readonly decision: RiskDecision;
  /** The account's effective trading state the order was checked in (kept on an accepted order). */
  readonly tradingState: TradingState;
  readonly limits: RiskLimits;
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
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * `replacing`: the order a replacement would take the place of, left out of the working orders (the
   * replacement is checked for what it would work, in its stead).
   */
  async check(tx: AccountTransaction, request: PlaceOrderRequest, replacing: string | null): Promise<PreTradeResult> {
    const { limits } = await this.limitsService.effective(tx.manager, tx.account.id);
    // A ratio already at its ceiling (staff re-activated the account, or lowered the ceiling) makes the
    // account `reducing` before this order is checked, not after it has been accepted.
    await this.messages.enforceCeiling(tx, limits, this.clock.now());
    const context = await this.context(tx, request, replacing, limits);
    const decision = this.engine.check(
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
    return { decision, tradingState: context.tradingState, limits };
  }

  private async context(
    tx: AccountTransaction,
    request: PlaceOrderRequest,
    replacing: string | null,
    limits: RiskLimits,
  ): Promise<RiskContext> {
    const accountId = tx.account.id;
    const now = this.clock.now();
    const quote = this.market.getQuote(request.symbol);
    const quoteAgeMs = quote ? this.market.quoteAgeMs(quote) : null;
    const global = await readGlobalTradingState(tx.manager);
    const trading = effectiveTradingState(tx.account, global);
    // Every order that is or may be working, at its worst case (its whole remaining quantity).
    const open = await tx.manager.find(OrderEntity, { where: { accountId, status: In([...OPEN_STATUSES]) } });
    const workingOrders: WorkingOrderExposure[] = open
      .filter((row) => row.id !== replacing)
      .map((row) => {
        const o = toDomainOrder(row);
        return {
          symbol: o.symbol,
          side: o.side,
          type: o.type,
          leavesQuantity: Decimal.max(o.quantity.minus(o.filledQuantity), 0),
          limitPrice: o.limitPrice,
          stopPrice: o.stopPrice,
          multiplier: contractMultiplier(o.symbol),
          positionEffect: o.positionEffect,
        };
      });
    // An order whose outcome is unknown blocks new entries in its symbol until reconciliation settles it.
    const unknown = open.find((o) => o.status === 'unknown' && o.symbol === request.symbol);
    const blocked =
      tx.account.entriesBlockedReason ??
      (unknown ? `order ${unknown.id} in ${request.symbol} is unknown until reconciliation settles it` : null);
    const needPositions =
      limits.maxGrossExposure !== undefined ||
      limits.maxDailyLoss !== undefined ||
      limits.maxPositionLoss !== undefined;
    const rows = needPositions
      ? await tx.manager.find(PositionEntity, { where: { accountId } })
      : await tx.manager.find(PositionEntity, { where: { accountId, symbol: request.symbol } });
    const position = rows.find((p) => p.symbol === request.symbol);
    const positions = needPositions ? rows.map((p) => this.exposure(p)) : undefined;
    return {
      quote,
      quoteAgeMs,
      // The feed's clock for the symbol: a replay's time of day on the day the symbol was recorded.
      marketNow: this.market.marketNow(request.symbol) ?? now,
      tradingState: trading.state,
      entriesBlockedReason: blocked,
      positionQuantity: position ? new Decimal(position.quantity) : new Decimal(0),
      workingOrders,
      now,
      ...(positions ? { positions } : {}),
      ...(positions && limits.maxDailyLoss !== undefined ? { dailyPnl: this.dailyPnl(rows, positions, now) } : {}),
      ...(limits.duplicateWindowMs !== undefined
        ? { recentOrders: await this.recentOrders(tx, now - limits.duplicateWindowMs, replacing) }
        : {}),
      ...(limits.maxMessagesPerSecond !== undefined || limits.maxMessagesPerMinute !== undefined
        ? { messageCounts: await this.messages.rateCounts(tx.manager, accountId, now) }
        : {}),
    };
  }

  private exposure(p: PositionEntity): PositionExposure {
    const quote = this.market.getQuote(p.symbol);
    return {
      symbol: p.symbol,
      quantity: new Decimal(p.quantity),
      markPrice: quote ? (referencePrice(quote)?.price ?? null) : null,
      multiplier: contractMultiplier(p.symbol),
      averagePrice: new Decimal(p.averagePrice),
    };
  }

  /**
   * Today's P&L: realized since the trading day's start, plus every open position at its mark against
   * its average price. A position without a mark (no quote) counts nothing unrealized.
   */
  private dailyPnl(rows: readonly PositionEntity[], positions: readonly PositionExposure[], now: number): DailyPnl {
    const today = tradingDayOf(now);
    const realized = rows.reduce(
      (sum, p) =>
        p.tradingDay === today ? sum.plus(new Decimal(p.realizedPnl).minus(new Decimal(p.dayStartRealizedPnl))) : sum,
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

  private async recentOrders(tx: AccountTransaction, since: number, replacing: string | null): Promise<RecentOrder[]> {
    const rows = await tx.manager.find(OrderEntity, {
      // The window's edge counts (duplicate-order.check.ts); an order the broker refused or never got
      // (`rejected`, `denied`) is no duplicate to protect against: its retry is legitimate.
      where: {
        accountId: tx.account.id,
        createdAt: MoreThanOrEqual(new Date(since)),
        status: Not(In(['denied', 'rejected'])),
      },
    });
    return rows
      .filter((r) => r.id !== replacing)
      .map((r) => {
        const o = toDomainOrder(r);
        return {
          symbol: o.symbol,
          side: o.side,
          type: o.type,
          quantity: o.quantity,
          limitPrice: o.limitPrice,
          stopPrice: o.stopPrice,
          createdAt: o.createdAt,
        };
      });
  }
}
