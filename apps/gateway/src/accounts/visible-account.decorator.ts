import { createParamDecorator, type ExecutionContext, Injectable, type PipeTransform } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import type { Principal } from '../auth/principal.js';
import type { Account } from './account.js';
import { AccountsService } from './accounts.service.js';

/** Who asks for which account (the route's account id parameter). */
interface AccountRequest {
  readonly principal: Principal;
  readonly accountId: string;
}

const accountRequest = createParamDecorator((param: string, ctx: ExecutionContext): AccountRequest => {
  const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  const accountId = req.params[param];
  return { principal: req.principal, accountId: typeof accountId === 'string' ? accountId : '' };
});

/** Resolves the account for the caller: `AccountsService.getVisible` (404 `account.not_found`, 403). */
@Injectable()
export class VisibleAccountPipe implements PipeTransform<AccountRequest, Promise<Account>> {
  constructor(private readonly accounts: AccountsService) {}

  transform({ principal, accountId }: AccountRequest): Promise<Account> {
    return this.accounts.getVisible(principal, accountId);
  }
}

/** As VisibleAccountPipe, then `AccountsService.assertTradable` (403 `account.live_not_enabled`, 503). */
@Injectable()
export class TradableAccountPipe implements PipeTransform<AccountRequest, Promise<Account>> {
  constructor(private readonly accounts: AccountsService) {}

  async transform({ principal, accountId }: AccountRequest): Promise<Account> {
    const account = await this.accounts.getVisible(principal, accountId);
    this.accounts.assertTradable(account);
    return account;
  }
}

/**
 * The route's account, as the caller may see it (a handler parameter of type `Account`): the one
 * access check of every `/v1/accounts/{accountId}/...` route. Answers `404 account.not_found` exactly
 * as for a missing account when the caller may not see it, `403 auth.forbidden` when its grant lacks
 * the route's role; `tradable: true` also refuses accounts that may not take orders here. Runs after
 * the guards (the principal is set) and alongside the other parameters' pipes, whose synchronous
 * validation (the body's) answers first. `param`: the route parameter holding the id.
 */
export const VisibleAccount = (options: { tradable?: boolean; param?: string } = {}): ParameterDecorator =>
  accountRequest(options.param ?? 'accountId', options.tradable ? TradableAccountPipe : VisibleAccountPipe);
