import { toDecimalString, tradingDayOf } from '@gateway/oms';
import {
  type MessageCounts,
  type OrderToTradeCounts,
  orderToTradeRatio,
  otrCeilingReached,
  type RiskLimits,
} from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { LOGGER } from '../common/logger.js';
import { AccountEntity, OrderMessageEntity } from '../database/entities.js';
import type { AccountTransaction } from '../orders/order-ledger.js';
import { recordTradingStateChange } from './trading-state.store.js';

export type OrderMessageKind = 'order' | 'modification' | 'cancellation';
/**
 * Who sent a message: the account's traders (their orders, replaces and cancels, `ttlMs` cancels
 * included), or the kill switch. Only the traders' count toward the message rate and the ratio: the
 * kill switch's cancels must not lock a halted account's exits out nor push it to `reducing`.
 */
export type MessageInitiator = 'trader' | 'kill_switch';

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
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  async record(
    tx: AccountTransaction,
    orderId: string,
    kind: OrderMessageKind,
    now: number,
    initiator: MessageInitiator,
  ): Promise<void> {
    await tx.manager.insert(OrderMessageEntity, {
      accountId: tx.account.id,
      orderId,
      kind,
      initiator,
      tradingDay: tradingDayOf(now),
      sentAt: new Date(now),
    });
  }

  /** The traders' messages of the account in the trailing second and minute before `now` (epoch ms). */
  async rateCounts(manager: EntityManager, accountId: string, now: number): Promise<MessageCounts> {
    const [row] = await manager.query<{ second: string; minute: string }[]>(
      `SELECT count(*) FILTER (WHERE sent_at > $2) AS second, count(*) AS minute
         FROM order_messages WHERE account_id = $1 AND sent_at > $3 AND initiator = 'trader'`,
      [accountId, new Date(now - 1_000), new Date(now - 60_000)],
    );
    return { lastSecond: Number(row?.second ?? 0), lastMinute: Number(row?.minute ?? 0) };
  }

  /** The order-to-trade counts of one trading day (`YYYY-MM-DD`): the traders' messages, applied executions. */
  async orderToTrade(manager: EntityManager, accountId: string, tradingDay: string): Promise<OrderToTradeCounts> {
    const [row] = await manager.query<
      { orders: string; modifications: string; cancellations: string; trades: string }[]
    >(
      `SELECT count(*) FILTER (WHERE m.kind = 'order') AS orders,
              count(*) FILTER (WHERE m.kind = 'modification') AS modifications,
              count(*) FILTER (WHERE m.kind = 'cancellation') AS cancellations,
              (SELECT count(*) FROM executions e WHERE e.account_id = $1 AND e.trading_day = $2 AND e.applied) AS trades
         FROM order_messages m WHERE m.account_id = $1 AND m.trading_day = $2 AND m.initiator = 'trader'`,
      [accountId, tradingDay],
    );
    return {
      orders: Number(row?.orders ?? 0),
      modifications: Number(row?.modifications ?? 0),
      cancellations: Number(row?.cancellations ?? 0),
      trades: Number(row?.trades ?? 0),
    };
  }

  async orderToTradeDto(
    manager: EntityManager,
    accountId: string,
    tradingDay: string,
    limits: RiskLimits,
  ): Promise<OrderToTradeDto> {
    const counts = await this.orderToTrade(manager, accountId, tradingDay);
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
  async enforceCeiling(tx: AccountTransaction, limits: RiskLimits, now: number): Promise<void> {
    const ceiling = limits.maxOrderToTradeRatio;
    if (!ceiling || tx.account.tradingState !== 'active') {
      return;
    }
    const counts = await this.orderToTrade(tx.manager, tx.account.id, tradingDayOf(now));
    if (!otrCeilingReached(counts, ceiling)) {
      return;
    }
    const ratio = toDecimalString(orderToTradeRatio(counts).toDecimalPlaces(4));
    const reason = `order-to-trade ratio ${ratio} reached the ceiling ${toDecimalString(ceiling)} (${counts.orders} orders, ${counts.modifications} modifications, ${counts.cancellations} cancellations, ${counts.trades} trades today)`;
    const fields = {
      tradingState: 'reducing' as const,
      tradingStateReason: reason,
      tradingStateChangedBy: 'gateway',
      tradingStateChangedAt: new Date(now),
    };
    await tx.manager.update(AccountEntity, { id: tx.account.id }, fields);
    await recordTradingStateChange(tx.manager, {
      scope: 'account',
      accountId: tx.account.id,
      previousState: 'active',
      state: 'reducing',
      source: 'order_to_trade_ratio',
      reason,
      changedBy: 'gateway',
      changedAt: new Date(now),
    });
    Object.assign(tx.account, fields);
    this.logger.warn({ accountId: tx.account.id, alert: 'otr_ceiling', ...counts, ratio }, 'account set to reducing');
  }
}
