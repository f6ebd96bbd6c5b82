import { Controller, Get } from '@nestjs/common';
import type { Account } from './account.js';
import { type BalancesDto, BalancesService } from './balances.service.js';
import { VisibleAccount } from './visible-account.decorator.js';

@Controller('v1/accounts/:accountId')
export class BalancesController {
  constructor(private readonly balances: BalancesService) {}

  /**
   * `GET /v1/accounts/{accountId}/balances` → `{ cash, buyingPower, equity, currency: "USD", asOf, source }`
   * (any role that sees the account); 404 `account.not_found`; 503 `service.unavailable` when the broker
   * cannot report them (BalancesService).
   */
  @Get('balances')
  get(@VisibleAccount() account: Account): Promise<BalancesDto> {
    return this.balances.of(account);
  }
}
