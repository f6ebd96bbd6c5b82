import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccountsModule } from './accounts/accounts.module.js';
import { AuditContextGuard } from './audit/audit-context.guard.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthGuard } from './auth/auth.guard.js';
import { BrokerConnectionsModule } from './broker-connections/broker-connections.module.js';
import { type CredentialsDependencies, CredentialsModule } from './credentials/credentials.module.js';
import { type AuthDependencies, AuthModule } from './auth/auth.module.js';
import { DocsModule } from './docs/docs.module.js';
import { HealthModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { type MarketDependencies, MarketModule } from './market/market.module.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { type InfrastructureDependencies, PersistenceModule } from './persistence/persistence.module.js';
import { AddressRateLimitGuard } from './rate-limit/address-rate-limit.guard.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { KillSwitchModule } from './risk/kill-switch/kill-switch.module.js';
import { RiskModule } from './risk/risk.module.js';
import { StreamModule } from './stream/stream.module.js';

/**
 * Everything main.ts builds before Nest starts (I/O that must fail with a clear line, not a stack trace),
 * each part handed to the one global module that provides it.
 */
export type GatewayDependencies = InfrastructureDependencies &
  AuthDependencies &
  MarketDependencies &
  CredentialsDependencies;

/**
 * The gateway: its feature modules (docs/module-boundaries.md) and the global guards. It provides no
 * feature provider or controller itself.
 */
@Module({})
export class AppModule {
  static register(deps: GatewayDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PersistenceModule.register(deps),
        AuthModule.register(deps),
        JobsModule,
        MarketModule.register(deps),
        OrdersModule,
        RiskModule,
        KillSwitchModule.register({ orderCancels: OrdersModule }),
        AccountsModule,
        BrokerConnectionsModule,
        AuditModule,
        CredentialsModule.register(deps),
        RateLimitModule,
        StreamModule,
        HealthModule,
        DocsModule,
        MonitoringModule,
      ],
      providers: [
        // Before AuthGuard (global guards run in this order): the audit entry of a refused request needs it too.
        { provide: APP_GUARD, useClass: AuditContextGuard },
        // Requests without a valid token are limited per IP before the token check, the rest per subject after it.
        { provide: APP_GUARD, useClass: AddressRateLimitGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: ClientRateLimitGuard },
      ],
    };
  }
}
