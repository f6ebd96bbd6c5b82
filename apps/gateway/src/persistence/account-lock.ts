import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccountEntity } from '../database/entities.js';
import type { AccountScope } from './account-scope.js';

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
      const account = await manager
        .createQueryBuilder(AccountEntity, 'a')
        .setLock('pessimistic_write')
        .where('a.id = :id', { id: accountId })
        .getOne();
      return account ? { result: await work({ manager, account }) } : null;
    });
  }
}
