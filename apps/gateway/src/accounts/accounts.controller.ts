import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Put, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { AccountEntity } from '../database/entities.js';
import { readGlobalTradingState } from '../risk/trading-state.store.js';
import { type AccountDto, type GrantDto, toAccountDto, toGrantDto } from './account.mapper.js';
import { accountPatchSchema, grantSchema, subjectParam } from './account.schema.js';
import { AccountsService } from './accounts.service.js';

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

  /** `PATCH /v1/accounts/{accountId}` `{ liveEnabled }` (role admin): whether a live account takes orders. */
  @Patch(':accountId')
  @RequireRole('admin')
  async patch(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Body(new ZodPipe(accountPatchSchema)) body: z.infer<typeof accountPatchSchema>,
  ): Promise<AccountDto> {
    await this.accounts.getVisible(req.principal, accountId);
    await this.dataSource.getRepository(AccountEntity).update({ id: accountId }, { liveEnabled: body.liveEnabled });
    return this.get(req, accountId);
  }

  /** `GET /v1/accounts/{accountId}/grants` (role admin): who may act on the account, with which roles. */
  @Get(':accountId/grants')
  @RequireRole('admin')
  async grants(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
  ): Promise<{ grants: GrantDto[] }> {
    await this.accounts.getVisible(req.principal, accountId);
    return { grants: (await this.accounts.listGrants(accountId)).map(toGrantDto) };
  }

  /** `PUT /v1/accounts/{accountId}/grants/{subject}` `{ roles }` (role admin): grants or replaces. */
  @Put(':accountId/grants/:subject')
  @RequireRole('admin')
  async putGrant(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Param('subject', new ZodPipe(subjectParam)) subject: string,
    @Body(new ZodPipe(grantSchema)) body: z.infer<typeof grantSchema>,
  ): Promise<GrantDto> {
    await this.accounts.getVisible(req.principal, accountId);
    return toGrantDto(await this.accounts.putGrant(req.principal, accountId, subject, body.roles));
  }

  /** `DELETE /v1/accounts/{accountId}/grants/{subject}` (role admin): withdraws the grant (204). */
  @Delete(':accountId/grants/:subject')
  @HttpCode(204)
  @RequireRole('admin')
  async deleteGrant(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Param('subject', new ZodPipe(subjectParam)) subject: string,
  ): Promise<void> {
    await this.accounts.getVisible(req.principal, accountId);
    await this.accounts.deleteGrant(accountId, subject);
  }
}
