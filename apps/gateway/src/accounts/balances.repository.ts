import { Decimal, type Position } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CashFlow } from './balances.js';

/** What the computed balances read: the applied executions summed in SQL (numeric), and the positions. */
@Injectable()
export class BalancesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Σ quantity × price per (symbol, side) of the account's applied executions (evidence-only ones excluded). */
  async cashFlows(accountId: string): Promise<CashFlow[]> {
    const rows: { symbol: string; side: string; notional: string }[] = await this.dataSource.query(
      `SELECT symbol, side, sum(quantity * price)::text AS notional
         FROM executions WHERE account_id = $1 AND applied
        GROUP BY symbol, side ORDER BY symbol, side`,
      [accountId],
    );
    return rows.map((r) => ({
      symbol: r.symbol,
      side: r.side === 'sell' ? 'sell' : 'buy',
      notional: new Decimal(r.notional),
    }));
  }

  async positions(accountId: string): Promise<Position[]> {
    const rows: { symbol: string; quantity: string; average_price: string; realized_pnl: string }[] =
      await this.dataSource.query(
        `SELECT symbol, quantity::text, average_price::text, realized_pnl::text
           FROM positions WHERE account_id = $1 ORDER BY symbol`,
        [accountId],
      );
    return rows.map((r) => ({
      symbol: r.symbol,
      quantity: new Decimal(r.quantity),
      averagePrice: new Decimal(r.average_price),
      realizedPnl: new Decimal(r.realized_pnl),
    }));
  }
}
