import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Req } from '@nestjs/common';
import { z } from 'zod';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import type { Account } from './account.js';
import { type AccountDto, type GrantDto, toGrantDto } from './account.mapper.js';
import { accountCreateSchema, accountPatchSchema, grantSchema, subjectParam } from './account.schema.js';
import { AccountsService } from './accounts.service.js';
import { VisibleAccount } from './visible-account.decorator.js';

@Controller('v1/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  /** `GET /v1/accounts` → the accounts the caller may see. */
  @Get()
  async list(@Req() req: AuthenticatedRequest): Promise<AccountDto[]> {
    return this.accounts.describe(await this.accounts.listVisible(req.principal));
  }

  /**
   * `POST /v1/accounts` `{ name, broker, environment, brokerAccountId? }` (role admin with the `*` grant)
   * → 201 Account; see AccountsService.create for the refusals.
   */
  @Post()
  @HttpCode(201)
  @RequireRole('admin')
  async create(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(accountCreateSchema)) body: z.infer<typeof accountCreateSchema>,
  ): Promise<AccountDto> {
    return this.accounts.describeOne(await this.accounts.create(req.principal, body));
  }

  /** `GET /v1/accounts/{accountId}` → Account, or 404 `account.not_found`. */
  @Get(':accountId')
  get(@VisibleAccount() account: Account): Promise<AccountDto> {
    return this.accounts.describeOne(account);
  }

  /** `PATCH /v1/accounts/{accountId}` `{ liveEnabled }` (role admin): whether a live account takes orders. */
  @Patch(':accountId')
  @RequireRole('admin')
  async patch(
    @VisibleAccount() account: Account,
    @Body(new ZodPipe(accountPatchSchema)) body: z.infer<typeof accountPatchSchema>,
  ): Promise<AccountDto> {
    return this.accounts.describeOne(await this.accounts.setLiveEnabled(account, body.liveEnabled));
  }

  /** `GET /v1/accounts/{accountId}/grants` (role admin): who may act on the account, with which roles. */
  @Get(':accountId/grants')
  @RequireRole('admin')
  async grants(@VisibleAccount() account: Account): Promise<{ grants: GrantDto[] }> {
    return { grants: (await this.accounts.listGrants(account.id)).map(toGrantDto) };
  }

  /** `PUT /v1/accounts/{accountId}/grants/{subject}` `{ roles }` (role admin): grants or replaces. */
  @Put(':accountId/grants/:subject')
  @RequireRole('admin')
  async putGrant(
    @Req() req: AuthenticatedRequest,
    @VisibleAccount() account: Account,
    @Param('subject', new ZodPipe(subjectParam)) subject: string,
    @Body(new ZodPipe(grantSchema)) body: z.infer<typeof grantSchema>,
  ): Promise<GrantDto> {
    return toGrantDto(await this.accounts.putGrant(req.principal, account.id, subject, body.roles));
  }

  /** `DELETE /v1/accounts/{accountId}/grants/{subject}` (role admin): withdraws the grant (204). */
  @Delete(':accountId/grants/:subject')
  @HttpCode(204)
  @RequireRole('admin')
  async deleteGrant(
    @VisibleAccount() account: Account,
    @Param('subject', new ZodPipe(subjectParam)) subject: string,
  ): Promise<void> {
    await this.accounts.deleteGrant(account.id, subject);
  }
}
