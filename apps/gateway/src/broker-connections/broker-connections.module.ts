import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { MetricsModule } from '../health/metrics.module.js';
import { BrokerConnectionRepository } from './broker-connection.repository.js';
import { BrokerConnectionsController, OAuthCallbackController } from './broker-connections.controller.js';
import { BrokerConnectionsService } from './broker-connections.service.js';
import { TokenRefreshScheduler } from './token-refresh.scheduler.js';
import { TokenRefresher } from './token-refresher.js';

/**
 * Broker connections over OAuth2: the connect routes and the callback, the token refresher and its schedule.
 * The tokens go through the credential vault (`CREDENTIAL_VAULT`).
 */
@Module({
  imports: [AccountsModule, MetricsModule],
  controllers: [BrokerConnectionsController, OAuthCallbackController],
  providers: [BrokerConnectionRepository, BrokerConnectionsService, TokenRefresher, TokenRefreshScheduler],
  exports: [TokenRefresher],
})
export class BrokerConnectionsModule {}
