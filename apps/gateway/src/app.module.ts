import type { Clock } from '@gateway/oms';
import type { ExecutionClient, MarketDataFeed } from '@gateway/brokers';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AccountsController } from './accounts/accounts.controller.js';
import { AccountsService } from './accounts/accounts.service.js';
import { AuditContextGuard } from './audit/audit-context.guard.js';
import { AuditLogRepository } from './audit/audit-log.repository.js';
import { AuditRecorder } from './audit/audit-recorder.js';
import { AuditController } from './audit/audit.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { LOGGER } from './common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/config.js';
import { DocsController } from './docs/docs.controller.js';
import { HealthController } from './health/health.controller.js';
import { GatewayMetrics } from './health/metrics.js';
import { CLOCK, EXECUTION_CLIENT, MARKET_DATA, PAPER_REPLAY } from './market/market.tokens.js';
import { QuotesController } from './market/quotes.controller.js';
import { ReplayController } from './market/replay.controller.js';
import { ExecutionReportProcessor } from './orders/execution-report.processor.js';
import { OrderLedger } from './orders/order-ledger.js';
import { OrderQueries } from './orders/order-queries.service.js';
import { OrderReconciler } from './orders/order-reconciler.js';
import { OrderTtlScheduler } from './orders/order-ttl.scheduler.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { ORDER_REPOSITORIES } from './orders/persistence/index.js';
import { AFTER_COMMIT_PROVIDERS } from './orders/after-commit/index.js';
import { AddressRateLimitGuard } from './rate-limit/address-rate-limit.guard.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';
import { RateLimitMetrics } from './rate-limit/rate-limit.metrics.js';
import { RequestRateLimiter } from './rate-limit/request-rate-limiter.js';
import { StreamLimiter } from './rate-limit/stream-limiter.js';
import { REDIS, REDIS_SUBSCRIBER } from './redis/redis.provider.js';
import { OrderMessages } from './risk/order-messages.js';
import { PreTradeRisk } from './risk/pre-trade-risk.js';
import { RiskController } from './risk/risk.controller.js';
import { RiskLimitsService } from './risk/risk-limits.service.js';
import { TradingControlService } from './risk/trading-control.service.js';
import { EventBus } from './stream/event-bus.js';
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
      controllers: [
        AccountsController,
        OrdersController,
        RiskController,
        QuotesController,
        ReplayController,
        HealthController,
        DocsController,
        AuditController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: deps.config },
        { provide: LOGGER, useValue: deps.logger },
        { provide: DataSource, useValue: deps.dataSource },
        { provide: REDIS, useValue: deps.redis },
        { provide: REDIS_SUBSCRIBER, useValue: deps.redisSubscriber },
        { provide: TokenVerifier, useValue: deps.verifier },
        { provide: EXECUTION_CLIENT, useValue: deps.executionClient },
        { provide: MARKET_DATA, useValue: deps.marketData },
        { provide: PAPER_REPLAY, useValue: deps.paperReplay },
        { provide: CLOCK, useValue: deps.clock },
        // Before AuthGuard (global guards run in this order): the audit entry of a refused request needs it too.
        { provide: APP_GUARD, useClass: AuditContextGuard },
        // Requests without a valid token are limited per IP before the token check, the rest per subject after it.
        { provide: APP_GUARD, useClass: AddressRateLimitGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: ClientRateLimitGuard },
        GatewayMetrics,
        AccountsService,
        ...ORDER_REPOSITORIES,
        ...AFTER_COMMIT_PROVIDERS,
        OrderLedger,
        OrderQueries,
        OrdersService,
        OrderMessages,
        PreTradeRisk,
        RiskLimitsService,
        TradingControlService,
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
