import type { EntityManager } from 'typeorm';
import type { AccountEntity } from '../../database/entities.js';

/**
 * The account transaction a repository works in: its EntityManager and the account row it holds locked
 * (OrderLedger.inAccount). Repositories take it; services never touch the manager.
 */
export interface AccountScope {
  readonly manager: EntityManager;
  readonly account: AccountEntity;
}
