import { Decimal } from '@gateway/oms';
import type { PositionBreak } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import type { AccountScope } from '../persistence/account-scope.js';
import { type LockedRead, readIn } from '../persistence/locked-reads.js';

/**
 * The open position break of an account in one symbol, for the pre-trade check (`risk.position_break`),
 * read in the order's transaction. Written by position reconciliation (orders/position-reconciler.ts);
 * served by the partial unique index on the current breaks. One query style: SQL.
 */
@Injectable()
export class OpenPositionBreakRepository {
  async find(tx: AccountScope, symbol: string): Promise<PositionBreak | null> {
    const rows = await readIn<{ id: string; ours: string; broker: string }>(tx, this.findRead(tx.account.id, symbol));
    const row = rows[0];
    return row ? { id: row.id, ours: new Decimal(row.ours), broker: new Decimal(row.broker) } : null;
  }

  /** `find`'s read, to send with the account's lock (LockedRead). */
  findRead(accountId: string, symbol: string): LockedRead {
    return {
      sql: `SELECT id, ours, broker FROM reconciliation_breaks
             WHERE account_id = $1 AND kind = 'position' AND symbol = $2 AND status = 'open'`,
      params: [accountId, symbol],
    };
  }
}
