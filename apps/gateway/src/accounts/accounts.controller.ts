import { Controller, Get, Param, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { type AccountDto, toAccountDto } from './account.mapper.js';
import { AccountsService } from './accounts.service.js';
import { readGlobalTradingState } from '../risk/trading-state.store.js';

@Controller('v1/accounts')
export class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly dataSource: DataSource,
  ) {}

  /** `GET /v1/accounts` → the accounts the caller may see. */
  @Get()
  async list(@Req() req: AuthenticatedRequest): Promise<AccountDto[]> {
    const global = await readGlobalTradingState(this.dataSource.manager);
    return (await this.accounts.listVisible(req.principal)).map((a) => toAccountDto(a, global));
  }

  /** `GET /v1/accounts/{accountId}` → Account, or 404 `account.not_found`. */
  @Get(':accountId')
  async get(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string): Promise<AccountDto> {
    const account = await this.accounts.getVisible(req.principal, accountId);
    return toAccountDto(account, await readGlobalTradingState(this.dataSource.manager));
  }
}
