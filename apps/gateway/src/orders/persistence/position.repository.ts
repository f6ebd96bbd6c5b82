import { Decimal, type Position, type PositionQuantity, toDecimalString } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PositionEntity } from '../../database/entities.js';
import type { AccountScope } from '../../persistence/account-scope.js';

/** A position with what the daily loss check needs: the trading day it last changed in, and its start. */
export interface PositionRecord {
  readonly position: Position;
  /** The trading day (America/New_York, `YYYY-MM-DD`) `realizedPnl` last changed in. */
  readonly tradingDay: string | null;
  /** `realizedPnl` at the start of `tradingDay`. */
  readonly dayStartRealizedPnl: Decimal;
}

const toPosition = (e: PositionEntity): Position => ({
  symbol: e.symbol,
  quantity: new Decimal(e.quantity),
  averagePrice: new Decimal(e.averagePrice),
  realizedPnl: new Decimal(e.realizedPnl),
});

/** Positions by (account, symbol). One query style: TypeORM's entity API. */
@Injectable()
export class PositionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(scope: AccountScope, symbol: string): Promise<PositionRecord | null> {
    const row = await scope.manager.findOne(PositionEntity, { where: { accountId: scope.account.id, symbol } });
    return row
      ? {
          position: toPosition(row),
          tradingDay: row.tradingDay,
          dayStartRealizedPnl: new Decimal(row.dayStartRealizedPnl),
        }
      : null;
  }

  async save(scope: AccountScope, record: PositionRecord, at: number): Promise<void> {
    const p = record.position;
    await scope.manager.upsert(
      PositionEntity,
      {
        accountId: scope.account.id,
        symbol: p.symbol,
        quantity: toDecimalString(p.quantity),
        averagePrice: toDecimalString(p.averagePrice),
        realizedPnl: toDecimalString(p.realizedPnl),
        tradingDay: record.tradingDay,
        dayStartRealizedPnl: toDecimalString(record.dayStartRealizedPnl),
        updatedAt: new Date(at),
      },
      ['accountId', 'symbol'],
    );
  }

  /** Every instrument the account has traded, by symbol: open positions and flat ones with realised P&L. */
  async list(accountId: string): Promise<Position[]> {
    const rows = await this.dataSource.manager.find(PositionEntity, {
      where: { accountId },
      order: { symbol: 'ASC' },
    });
    return rows.map(toPosition);
  }

  /**
   * The quantity of every position of `accountIds` (flat ones included), in one query: what position
   * reconciliation compares with a broker that reports one book for several accounts (the paper venue).
   */
  async quantities(accountIds: readonly string[]): Promise<PositionQuantity[]> {
    if (accountIds.length === 0) {
      return [];
    }
    const rows: { symbol: string; quantity: string }[] = await this.dataSource.query(
      'SELECT symbol, quantity FROM positions WHERE account_id = ANY($1::uuid[])',
      [[...accountIds]],
    );
    return rows.map((r) => ({ symbol: r.symbol, quantity: new Decimal(r.quantity) }));
  }
}
