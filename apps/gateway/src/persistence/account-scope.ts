import type { EntityManager } from 'typeorm';
import type { AccountEntity } from '../database/entities.js';

/** A transaction a repository reads and writes in (the caller's unit of work). */
export interface TransactionScope {
  readonly manager: EntityManager;
}

/**
 * One account's transaction, holding the account row lock (`SELECT ... FOR UPDATE`): what a repository
 * needs to read and write inside it. The orders' account transaction (orders/order-ledger.ts) is one;
 * `AccountLock.inAccountScope` makes one for work that appends no order event.
 */
export interface AccountScope extends TransactionScope {
  /** The locked account row, as read at the start of the transaction (kept current by its writers). */
  readonly account: AccountEntity;
}
