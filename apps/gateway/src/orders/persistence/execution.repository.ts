import { Decimal, type OrderSide } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope } from '../../persistence/account-scope.js';

/** One execution (fill) as the gateway keeps it. Times are epoch ms. */
export interface ExecutionRecord {
  readonly id: string;
  readonly accountId: string;
  readonly orderId: string;
  readonly venue: string;
  readonly brokerExecutionId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly executedAt: number;
  readonly receivedAt: number;
  /** The trading day (America/New_York, `YYYY-MM-DD`) it was received in. */
  readonly tradingDay: string;
  /** It would have overfilled its order: kept as evidence, not applied. */
  readonly overfill: boolean;
  /** Applied to the order and the position (false: kept as evidence only). */
  readonly applied: boolean;
  readonly brokerPayload: unknown;
}

interface ExecutionRow {
  id: string;
  account_id: string;
  order_id: string;
  venue: string;
  broker_execution_id: string;
  symbol: string;
  side: OrderSide;
  quantity: string;
  price: string;
  executed_at: Date;
  received_at: Date;
  trading_day: string | null;
  overfill: boolean;
  applied: boolean;
  broker_payload: unknown;
}

const toRecord = (r: ExecutionRow): ExecutionRecord => ({
  id: r.id,
  accountId: r.account_id,
  orderId: r.order_id,
  venue: r.venue,
  brokerExecutionId: r.broker_execution_id,
  symbol: r.symbol,
  side: r.side,
  quantity: new Decimal(r.quantity),
  price: new Decimal(r.price),
  executedAt: r.executed_at.getTime(),
  receivedAt: r.received_at.getTime(),
  tradingDay: r.trading_day ?? '',
  overfill: r.overfill,
  applied: r.applied,
  brokerPayload: r.broker_payload,
});

const COLUMNS = `id, account_id, order_id, venue, broker_execution_id, symbol, side, quantity, price, executed_at,
  received_at, to_char(trading_day, 'YYYY-MM-DD') AS trading_day, overfill, applied, broker_payload`;

/**
 * The executions table, append-only (a database trigger refuses UPDATE and DELETE). De-duplicated by
 * (venue, broker execution id) with a unique index. One query style: SQL.
 */
@Injectable()
export class ExecutionRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts an execution unless the broker sent it before. True when it is new. */
  async insertIfNew(scope: AccountScope, e: ExecutionRecord): Promise<boolean> {
    const rows: unknown[] = await scope.manager.query(
      `INSERT INTO executions (id, account_id, order_id, venue, broker_execution_id, symbol, side, quantity, price,
          executed_at, received_at, trading_day, overfill, applied, broker_payload)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb)
        ON CONFLICT DO NOTHING RETURNING id`,
      [
        e.id,
        e.accountId,
        e.orderId,
        e.venue,
        e.brokerExecutionId,
        e.symbol,
        e.side,
        e.quantity.toFixed(),
        e.price.toFixed(),
        new Date(e.executedAt),
        new Date(e.receivedAt),
        e.tradingDay,
        e.overfill,
        e.applied,
        e.brokerPayload === undefined || e.brokerPayload === null ? null : JSON.stringify(e.brokerPayload),
      ],
    );
    return rows.length > 0;
  }

  /** Broker execution ids already recorded for an order at a venue. */
  async recordedIds(scope: AccountScope, orderId: string, venue: string): Promise<Set<string>> {
    const rows: { broker_execution_id: string }[] = await scope.manager.query(
      `SELECT broker_execution_id FROM executions WHERE account_id = $1 AND order_id = $2 AND venue = $3`,
      [scope.account.id, orderId, venue],
    );
    return new Set(rows.map((r) => r.broker_execution_id));
  }

  /** The account's applied executions after `after` (an execution id), oldest first. */
  async listApplied(accountId: string, after: string | undefined, limit: number): Promise<ExecutionRecord[]> {
    const rows: ExecutionRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM executions
        WHERE account_id = $1 AND applied AND ($2::uuid IS NULL OR id > $2::uuid)
        ORDER BY id LIMIT $3`,
      [accountId, after ?? null, limit],
    );
    return rows.map(toRecord);
  }
}
