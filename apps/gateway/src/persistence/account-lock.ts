import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities.js';
import type { AccountScope } from './account-scope.js';

/** The account row, every column, named as `AccountEntity`'s properties, locked; `$1`: its id. */
export const LOCK_ACCOUNT = `
  SELECT id, name, environment, broker, broker_account_id AS "brokerAccountId", live_enabled AS "liveEnabled",
         trading_state AS "tradingState", entries_blocked_reason AS "entriesBlockedReason",
         trading_state_reason AS "tradingStateReason", trading_state_changed_by AS "tradingStateChangedBy",
         trading_state_changed_at AS "tradingStateChangedAt", last_seq AS "lastSeq",
         risk_limits_version AS "riskLimitsVersion", created_at AS "createdAt", updated_at AS "updatedAt"
    FROM accounts WHERE id = $1 FOR UPDATE`;

/**
 * Takes the account's row lock in `manager`'s transaction (`SELECT ... FOR UPDATE`, one round trip, no
 * query building) and returns the row; null when the account does not exist.
 */
export async function lockAccountRow(manager: EntityManager, accountId: string): Promise<AccountEntity | null> {
  const rows = await manager.query<AccountEntity[]>(LOCK_ACCOUNT, [accountId]);
  return rows[0] ?? null;
}

/**
 * The account lock for work that appends no order event (risk limits, trading states, the kill
 * switch's reads): one transaction under the account's row lock, the same `SELECT ... FOR UPDATE` as
 * the orders' ledger takes (ARCHITECTURE.md, "Placing an order", step 2), so such work is ordered with
 * the account's orders on every instance. Work that appends order events goes through the ledger,
 * which also hands out their `seq`.
 */
@Injectable()
export class AccountLock {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` under the account's lock; its result, or null when the account does not exist. */
  inAccountScope<T>(accountId: string, work: (scope: AccountScope) => Promise<T>): Promise<{ result: T } | null> {
    return this.dataSource.transaction(async (manager) => {
      const account = await lockAccountRow(manager, accountId);
      return account ? { result: await work({ manager, account }) } : null;
    });
  }
}
