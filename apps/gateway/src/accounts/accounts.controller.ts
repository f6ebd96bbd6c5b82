import { Controller, Get, Param, Req } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { type AccountDto, toAccountDto } from './account.mapper.js';
import { AccountsService } from './accounts.service.js';

@Controller('v1/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  /** `GET /v1/accounts` → the accounts the caller may see. */
  @Get()
  async list(@Req() req: AuthenticatedRequest): Promise<AccountDto[]> {
    return (await this.accounts.listVisible(req.principal)).map(toAccountDto);
  }

  /** `GET /v1/accounts/{accountId}` → Account, or 404 `account.not_found`. */
  @Get(':accountId')
  async get(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string): Promise<AccountDto> {
    return toAccountDto(await this.accounts.getVisible(req.principal, accountId));
  }
}
