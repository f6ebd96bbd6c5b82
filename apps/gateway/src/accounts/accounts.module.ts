import { Module } from '@nestjs/common';
import { AccountGrantRepository } from './account-grant.repository.js';
import { AccountRepository } from './account.repository.js';
import { AccountsController } from './accounts.controller.js';
import { BalancesController } from './balances.controller.js';
import { BalancesRepository } from './balances.repository.js';
import { BalancesService } from './balances.service.js';
import { BrokerCredentialsController } from './broker-credentials.controller.js';
import { AccountsService } from './accounts.service.js';
import { TradingStateRepository } from './trading-state.repository.js';
import { TradableAccountPipe, VisibleAccountPipe } from './visible-account.decorator.js';

/**
 * Accounts, their grants, their trading states and the write-only `PUT …/broker-credentials` (into the
 * global CredentialsModule's vault). Exports the access check (`AccountsService`,
 * used by `@VisibleAccount()` in any controller of a module importing this one) and the trading
 * states, which risk decides and every order reads. Also `GET …/balances` (BalancesService).
 */
@Module({
  controllers: [AccountsController, BrokerCredentialsController, BalancesController],
  providers: [
    AccountRepository,
    AccountGrantRepository,
    TradingStateRepository,
    AccountsService,
    VisibleAccountPipe,
    TradableAccountPipe,
    BalancesRepository,
    BalancesService,
  ],
  exports: [AccountsService, AccountRepository, TradingStateRepository],
})
export class AccountsModule {}
