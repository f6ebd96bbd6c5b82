import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope } from '../../persistence/account-scope.js';

/**
 * Whether an account's `reducing` is the lockdown's: the latest change of its own state that was not a
 * halt or a re-arm (the kill switch's round trip returns to the state before it) was set by the lockdown.
 * A state set since by anyone else (risk staff, the order-to-trade ceiling) is theirs, and the lockdown
 * never lifts it.
 */
const OWNED_BY_LOCKDOWN = `
  a.trading_state = 'reducing' AND (
    SELECT c.source || ':' || c.state FROM trading_state_changes c
     WHERE c.scope = 'account' AND c.account_id = a.id AND c.source NOT IN ('kill_switch', 'rearm')
     ORDER BY c.id DESC LIMIT 1) = 'lockdown:reducing'`;

/** The accounts the RTT lockdown acts on (SQL): a venue's accounts are those of the broker of that name. */
@Injectable()
export class LockdownAccountsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The venue's accounts whose own state is `active` (the ones a lockdown takes entry authority from). */
  async activeAccounts(venue: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM accounts WHERE broker = $1 AND trading_state = 'active' ORDER BY id`,
      [venue],
    );
    return rows.map((r) => r.id);
  }

  /** The venue's accounts `reducing` by the lockdown's doing (OWNED_BY_LOCKDOWN). */
  async lockedDownAccounts(venue: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT a.id FROM accounts a WHERE a.broker = $1 AND ${OWNED_BY_LOCKDOWN} ORDER BY a.id`,
      [venue],
    );
    return rows.map((r) => r.id);
  }

  /** The same test for one account, under its lock. */
  async isLockedDown(scope: AccountScope): Promise<boolean> {
    const rows = await scope.manager.query<unknown[]>(
      `SELECT 1 FROM accounts a WHERE a.id = $1 AND ${OWNED_BY_LOCKDOWN}`,
      [scope.account.id],
    );
    return rows.length > 0;
  }
}
