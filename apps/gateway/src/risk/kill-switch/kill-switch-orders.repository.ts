import { OPEN_STATUSES, type OrderStatus } from '@gateway/oms';
import type { TradingState } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope } from '../../persistence/account-scope.js';

const OPEN = [...OPEN_STATUSES];
/** Open, and no cancel or replace of it in flight (a pending replace is reached through its replacement). */
const CANCELABLE: readonly OrderStatus[] = OPEN.filter((s) => s !== 'pending_cancel' && s !== 'pending_replace');
/**
 * Orders the kill switch cancels: cancelable, not already being canceled, and accepted outside a halt
 * (the exits accepted during it stay).
 */
const TO_CANCEL = `o.status = ANY($1) AND o.cancel_requested_at IS NULL
  AND o.accepted_trading_state IS DISTINCT FROM 'halted'`;

/**
 * What the kill switch reads and writes of the orders (SQL): which orders it cancels, and the label
 * (`accepted_trading_state`) that keeps the exits accepted during a halt out of its cancels.
 */
@Injectable()
export class KillSwitchOrdersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The accounts with orders to cancel, committed, without locks: every account, or only the halted ones. */
  async accountsToCancel(everyAccount: boolean): Promise<string[]> {
    const rows = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT DISTINCT o.account_id FROM orders o JOIN accounts a ON a.id = o.account_id
        WHERE ${TO_CANCEL} AND ($2 OR a.trading_state = 'halted')`,
      [CANCELABLE, everyAccount],
    );
    return rows.map((r) => r.account_id);
  }

  /** The account's orders to cancel, oldest first, in its transaction. */
  async ordersToCancel(scope: AccountScope): Promise<string[]> {
    const rows = await scope.manager.query<{ id: string }[]>(
      `SELECT o.id FROM orders o WHERE ${TO_CANCEL} AND o.account_id = $2 ORDER BY o.id`,
      [CANCELABLE, scope.account.id],
    );
    return rows.map((r) => r.id);
  }

  /** The accounts with open orders accepted during a halt: every account, or only `accountId`. */
  async accountsWithExits(accountId: string | null): Promise<string[]> {
    const rows = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT DISTINCT account_id FROM orders o
        WHERE o.accepted_trading_state = 'halted' AND o.status = ANY($1) AND ($2::uuid IS NULL OR o.account_id = $2)`,
      [OPEN, accountId],
    );
    return rows.map((r) => r.account_id);
  }

  /** Labels the account's open orders accepted during a halt with the state now in force. */
  async relabelExits(scope: AccountScope, state: TradingState): Promise<void> {
    await scope.manager.query(
      `UPDATE orders o SET accepted_trading_state = $3
        WHERE o.account_id = $2 AND o.accepted_trading_state = 'halted' AND o.status = ANY($1)`,
      [OPEN, scope.account.id, state],
    );
  }
}
