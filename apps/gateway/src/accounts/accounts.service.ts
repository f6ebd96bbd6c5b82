import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { DataSource, In } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { isUuid } from '../common/ids.js';
import { AccountEntity } from '../database/entities.js';

@Injectable()
export class AccountsService {
  constructor(private readonly dataSource: DataSource) {}

  /** The accounts the principal may see, by name. */
  async listVisible(principal: Principal): Promise<AccountEntity[]> {
    const repo = this.dataSource.getRepository(AccountEntity);
    if (principal.accounts === '*') {
      return repo.find({ order: { name: 'ASC' } });
    }
    const ids = [...principal.accounts].filter((id) => isUuid(id));
    return ids.length === 0 ? [] : repo.find({ where: { id: In(ids) }, order: { name: 'ASC' } });
  }

  /** The account, if it exists and the principal may see it; otherwise 404 `account.not_found` either way. */
  async getVisible(principal: Principal, accountId: string): Promise<AccountEntity> {
    if (!isUuid(accountId) || !principal.canSeeAccount(accountId)) {
      throw ApiError.accountNotFound(accountId);
    }
    const account = await this.dataSource.getRepository(AccountEntity).findOne({ where: { id: accountId } });
    if (!account) {
      throw ApiError.accountNotFound(accountId);
    }
    return account;
  }

  /** Creates the named paper account on the paper venue if it is missing; returns it either way. */
  async ensurePaperAccount(name: string): Promise<AccountEntity> {
    const repo = this.dataSource.getRepository(AccountEntity);
    const now = new Date();
    await repo
      .createQueryBuilder()
      .insert()
      .values({
        id: uuidv7(),
        name,
        environment: 'paper',
        broker: 'paper',
        tradingState: 'active',
        entriesBlockedReason: null,
        tradingStateReason: null,
        tradingStateChangedBy: null,
        tradingStateChangedAt: null,
        lastSeq: '0',
        createdAt: now,
        updatedAt: now,
      })
      .orIgnore()
      .execute();
    return repo.findOneOrFail({ where: { name } });
  }
}
