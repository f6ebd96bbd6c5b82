import type { MessageCounts, OrderToTradeCounts } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope } from '../persistence/account-scope.js';
import { writeIn } from '../persistence/write-batch.js';

export type OrderMessageKind = 'order' | 'modification' | 'cancellation';

/**
 * Who sent a message: the account's traders (their orders, replaces and cancels, `ttlMs` cancels
 * included), or the kill switch. Only the traders' count toward the message rate and the ratio: the
 * kill switch's cancels must not lock a halted account's exits out nor push it to `reducing`.
 */
export type MessageInitiator = 'trader' | 'kill_switch';

/** One message to the broker. */
export interface OrderMessage {
  readonly orderId: string;
  readonly kind: OrderMessageKind;
  readonly initiator: MessageInitiator;
  /** `YYYY-MM-DD`, America/New_York: the day the ratio counts it in. */
  readonly tradingDay: string;
  readonly sentAt: Date;
}

/** The `order_messages` table (SQL), append-only; its counts join the applied `executions`. */
@Injectable()
export class OrderMessageRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(scope: AccountScope, message: OrderMessage): Promise<void> {
    await writeIn(scope, {
      sql: `INSERT INTO order_messages (account_id, order_id, kind, initiator, trading_day, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      params: [scope.account.id, message.orderId, message.kind, message.initiator, message.tradingDay, message.sentAt],
    });
  }

  /** The traders' messages of the account in the trailing second and minute before `now` (epoch ms). */
  async rateCounts(scope: AccountScope, now: number): Promise<MessageCounts> {
    const [row] = await scope.manager.query<{ second: string; minute: string }[]>(
      `SELECT count(*) FILTER (WHERE sent_at > $2) AS second, count(*) AS minute
         FROM order_messages WHERE account_id = $1 AND sent_at > $3 AND initiator = 'trader'`,
      [scope.account.id, new Date(now - 1_000), new Date(now - 60_000)],
    );
    return { lastSecond: Number(row?.second ?? 0), lastMinute: Number(row?.minute ?? 0) };
  }

  /**
   * The order-to-trade counts of one trading day (`YYYY-MM-DD`): the traders' messages, applied
   * executions; in the account's transaction when `scope` is given, else as committed.
   */
  async orderToTrade(accountId: string, tradingDay: string, scope?: AccountScope): Promise<OrderToTradeCounts> {
    const [row] = await (scope?.manager ?? this.dataSource.manager).query<
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
}
