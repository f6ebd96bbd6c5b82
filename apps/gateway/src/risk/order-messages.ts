import { type Clock, toDecimalString, tradingDayOf } from '@gateway/oms';
import { orderToTradeRatio, otrCeilingReached, type OrderToTradeCounts, type RiskLimits } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { TradingStateRepository } from '../accounts/trading-state.repository.js';
import { LOGGER } from '../common/logger.js';
import { CLOCK } from '../market/market.tokens.js';
import type { AccountScope } from '../persistence/account-scope.js';
import { type MessageInitiator, type OrderMessageKind, OrderMessageRepository } from './order-message.repository.js';
import { RiskLimitsService } from './risk-limits.service.js';

export type { MessageInitiator, OrderMessageKind } from './order-message.repository.js';

/** `GET /v1/accounts/{id}/order-to-trade`: one trading day's counts and ratio. */
export interface OrderToTradeDto extends OrderToTradeCounts {
  accountId: string;
  /** `YYYY-MM-DD`, America/New_York. */
  tradingDay: string;
  /** (orders + modifications + cancellations) / max(trades, 1), a decimal string. */
  ratio: string;
  /** The account's `maxOrderToTradeRatio`, or null when it has none. */
  ceiling: string | null;
}

/**
 * The messages the gateway sends a broker for an account, one row each (`order_messages`): a new
 * order (when it is accepted for submission), a modification (an accepted replace) and a cancellation
 * (when the cancel is sent). Recorded under the account's lock in the transaction that decides to send,
 * so the counts are exact across instances. They feed the message-rate check (trailing second and
 * minute) and the order-to-trade ratio per trading day (OTR, as NSE/BSE count it: orders,
 * modifications and cancellations against executed trades).
 */
@Injectable()
export class OrderMessages {
  constructor(
    private readonly messages: OrderMessageRepository,
    private readonly tradingStates: TradingStateRepository,
    private readonly limits: RiskLimitsService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async record(
    tx: AccountScope,
    orderId: string,
    kind: OrderMessageKind,
    now: number,
    initiator: MessageInitiator,
  ): Promise<void> {
    await this.messages.insert(tx, { orderId, kind, initiator, tradingDay: tradingDayOf(now), sentAt: new Date(now) });
  }

  /** The order-to-trade ratio of a trading day (default: today, America/New_York), as committed. */
  async orderToTrade(accountId: string, tradingDay = tradingDayOf(this.clock.now())): Promise<OrderToTradeDto> {
    const { limits } = await this.limits.effective(accountId);
    const counts = await this.messages.orderToTrade(accountId, tradingDay);
    return {
      accountId,
      tradingDay,
      ...counts,
      ratio: toDecimalString(orderToTradeRatio(counts).toDecimalPlaces(4)),
      ceiling: limits.maxOrderToTradeRatio ? toDecimalString(limits.maxOrderToTradeRatio) : null,
    };
  }

  /**
   * After a message: when the day's ratio has reached the account's ceiling, the account goes
   * `reducing` (recorded, by `gateway`), so the ceiling is reached but not breached by new entries.
   * Exits and cancels stay possible. Only risk staff bring the account back to `active`.
   */
  async enforceCeiling(tx: AccountScope, limits: RiskLimits, now: number): Promise<void> {
    const ceiling = limits.maxOrderToTradeRatio;
    if (!ceiling || tx.account.tradingState !== 'active') {
      return;
    }
    const counts = await this.messages.orderToTrade(tx.account.id, tradingDayOf(now), tx);
    if (!otrCeilingReached(counts, ceiling)) {
      return;
    }
    const ratio = toDecimalString(orderToTradeRatio(counts).toDecimalPlaces(4));
    const reason = `order-to-trade ratio ${ratio} reached the ceiling ${toDecimalString(ceiling)} (${counts.orders} orders, ${counts.modifications} modifications, ${counts.cancellations} cancellations, ${counts.trades} trades today)`;
    await this.tradingStates.setAccount(tx, {
      tradingState: 'reducing',
      tradingStateReason: reason,
      tradingStateChangedBy: 'gateway',
      tradingStateChangedAt: new Date(now),
    });
    await this.tradingStates.record(tx, {
      scope: 'account',
      accountId: tx.account.id,
      previousState: 'active',
      state: 'reducing',
      source: 'order_to_trade_ratio',
      reason,
      changedBy: 'gateway',
      changedAt: new Date(now),
    });
    this.logger.warn({ accountId: tx.account.id, alert: 'otr_ceiling', ...counts, ratio }, 'account set to reducing');
  }
}
