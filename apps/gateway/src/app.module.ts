import type { Clock } from '@gateway/oms';
import type { ExecutionClient, MarketDataFeed } from '@gateway/brokers';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { AccountsModule } from './accounts/accounts.module.js';
import { AuditContextGuard } from './audit/audit-context.guard.js';
import { AuditLogRepository } from './audit/audit-log.repository.js';
import { AuditRecorder } from './audit/audit-recorder.js';
import { AuditController } from './audit/audit.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { TokenVerifier } from './auth/token-verifier.js';
import type { GatewayConfig } from './config/config.js';
import { DocsController } from './docs/docs.controller.js';
import { HealthController } from './health/health.controller.js';
import { GatewayMetrics } from './health/metrics.js';
import { EXECUTION_CLIENT, MARKET_DATA, PAPER_REPLAY } from './market/market.tokens.js';
import { QuotesController } from './market/quotes.controller.js';
import { ReplayController } from './market/replay.controller.js';
import { ExecutionReportProcessor } from './orders/execution-report.processor.js';
import { OrderLedger } from './orders/order-ledger.js';
import { OrderQueries } from './orders/order-queries.service.js';
import { OrderReconciler } from './orders/order-reconciler.js';
import { OrderTtlScheduler } from './orders/order-ttl.scheduler.js';
import { OrdersController } from './orders/orders.controller.js';
import { ORDER_COMMAND_PROVIDERS } from './orders/commands/index.js';
import { CancelOrderHandler } from './orders/commands/cancel-order.handler.js';
import { ORDER_REPOSITORIES } from './orders/persistence/index.js';
import { AFTER_COMMIT_PROVIDERS } from './orders/after-commit/index.js';
import { AddressRateLimitGuard } from './rate-limit/address-rate-limit.guard.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';
import { RateLimitMetrics } from './rate-limit/rate-limit.metrics.js';
import { RequestRateLimiter } from './rate-limit/request-rate-limiter.js';
import { StreamLimiter } from './rate-limit/stream-limiter.js';
import { PersistenceModule } from './persistence/persistence.module.js';
import { KillSwitchCanceller } from './risk/kill-switch/kill-switch-canceller.js';
import { KillSwitchOrdersRepository } from './risk/kill-switch/kill-switch-orders.repository.js';
import { KillSwitchHandler } from './risk/kill-switch/kill-switch.handler.js';
import { ORDER_CANCELS } from './risk/order-cancels.port.js';
import { OrderMessageRepository } from './risk/order-message.repository.js';
import { OrderMessages } from './risk/order-messages.js';
import { PreTradeRisk } from './risk/pre-trade-risk.js';
import { RiskContextRepository } from './risk/risk-context.repository.js';
import { RiskController } from './risk/risk.controller.js';
import { RiskLimitsRepository } from './risk/risk-limits.repository.js';
import { RiskLimitsService } from './risk/risk-limits.service.js';
import { TradingControlService } from './risk/trading-control.service.js';
import { EventBus } from './orders/event-bus.js';
import { StreamServer } from './stream/stream.server.js';

/** Everything main.ts builds before Nest starts (I/O that must fail with a clear line, not a stack trace). */
export interface GatewayDependencies {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly dataSource: DataSource;
  readonly redis: Redis;
  readonly redisSubscriber: Redis;
  readonly verifier: TokenVerifier;
  readonly executionClient: ExecutionClient;
  readonly marketData: MarketDataFeed;
  /** The paper venue's replay control, when the venue is the paper venue. */
  readonly paperReplay: unknown;
  readonly clock: Clock;
}

@Module({})
export class AppModule {
  static register(deps: GatewayDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [PersistenceModule.register(deps), AccountsModule],
      controllers: [
        OrdersController,
        RiskController,
        QuotesController,
        ReplayController,
        HealthController,
        DocsController,
        AuditController,
      ],
      providers: [
        { provide: TokenVerifier, useValue: deps.verifier },
        { provide: EXECUTION_CLIENT, useValue: deps.executionClient },
        { provide: MARKET_DATA, useValue: deps.marketData },
        { provide: PAPER_REPLAY, useValue: deps.paperReplay },
        // Before AuthGuard (global guards run in this order): the audit entry of a refused request needs it too.
        { provide: APP_GUARD, useClass: AuditContextGuard },
        // Requests without a valid token are limited per IP before the token check, the rest per subject after it.
        { provide: APP_GUARD, useClass: AddressRateLimitGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: ClientRateLimitGuard },
        GatewayMetrics,
        ...ORDER_REPOSITORIES,
        ...AFTER_COMMIT_PROVIDERS,
        OrderLedger,
        OrderQueries,
        ...ORDER_COMMAND_PROVIDERS,
        { provide: ORDER_CANCELS, useExisting: CancelOrderHandler },
        OrderMessageRepository,
        OrderMessages,
        RiskContextRepository,
        PreTradeRisk,
        RiskLimitsRepository,
        RiskLimitsService,
        TradingControlService,
        KillSwitchOrdersRepository,
        KillSwitchCanceller,
        KillSwitchHandler,
        OrderTtlScheduler,
        OrderReconciler,
        ExecutionReportProcessor,
        EventBus,
        StreamServer,
        RateLimitMetrics,
        RequestRateLimiter,
        StreamLimiter,
        AuditLogRepository,
        AuditRecorder,
      ],
    };
  }
}
