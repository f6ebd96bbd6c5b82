import { type Clock, systemClock } from '@gateway/oms';
import { BrokerRegistry, type ExecutionClient } from '@gateway/brokers';
import type { Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { type GatewayConfig, loadConfig } from '../../apps/gateway/src/config/config.js';
import { BrokerRoundTrips } from '../../apps/gateway/src/health/broker-round-trips.js';
import { GatewayMetrics } from '../../apps/gateway/src/health/metrics.js';
import { AccountBrokers } from '../../apps/gateway/src/market/account-brokers.js';
import { BROKER_REGISTRY, CLOCK } from '../../apps/gateway/src/market/market.tokens.js';
import { AfterCommitDispatcher } from '../../apps/gateway/src/orders/after-commit/after-commit.dispatcher.js';
import { OrderLedger } from '../../apps/gateway/src/orders/order-ledger.js';
import { ORDER_REPOSITORIES } from '../../apps/gateway/src/orders/persistence/index.js';
import { PersistenceModule } from '../../apps/gateway/src/persistence/persistence.module.js';
import { BrokerOrderRate } from '../../apps/gateway/src/rate-limit/broker-order-rate.js';
import { redisPrefix } from './database.js';

/** What a spec brings of the real infrastructure; everything else has a test default. */
export interface TestInfrastructure {
  readonly dataSource: DataSource;
  readonly logger?: Logger;
  readonly config?: GatewayConfig;
  readonly clock?: Clock;
  /** Only for graphs that fan out or subscribe; a provider that needs Redis fails without them. */
  readonly redis?: Redis;
  readonly redisSubscriber?: Redis;
  /**
   * The broker the graph talks to: the one client of a registry (`BrokerRegistry.of`, broker named as its
   * venue, `paper` when it has none), provided as `BROKER_REGISTRY` with the AccountBrokers over it.
   */
  readonly executionClient?: ExecutionClient;
  /** Or a registry of several brokers (instead of `executionClient`). */
  readonly brokers?: BrokerRegistry;
}

/**
 * A Nest testing module over a spec's real database (and Redis when given): the infrastructure module
 * the gateway uses, the order path's repositories, its ledger with the after-commit dispatcher and the
 * metrics, plus `providers`. Providers are resolved by Nest from their constructors, as in the gateway,
 * so a spec names what it needs instead of calling constructors by hand; `useValue` providers replace
 * what a spec fakes. Lifecycle hooks (`onModuleInit`) run only once the caller calls `module.init()`.
 */
function brokerProviders(infra: TestInfrastructure): Provider[] {
  const client = infra.executionClient;
  const registry = infra.brokers ?? (client ? BrokerRegistry.of(client, client.venue ?? 'paper') : null);
  // Opened as bootstrap.ts opens it: the broker-scoped clients exist, so their reports reach the processor.
  return registry
    ? [{ provide: BROKER_REGISTRY, useFactory: () => registry.open().then(() => registry) }, AccountBrokers]
    : [];
}

export async function orderPathTestingModule(
  infra: TestInfrastructure,
  providers: Provider[] = [],
): Promise<TestingModule> {
  return Test.createTestingModule({
    imports: [
      PersistenceModule.register({
        config: infra.config ?? loadConfig({ REDIS_PREFIX: redisPrefix() }),
        logger: infra.logger ?? pino({ level: 'silent' }),
        dataSource: infra.dataSource,
        // Nest refuses an undefined value: a graph without Redis gets null, and fails loudly if it uses it.
        redis: infra.redis ?? (null as unknown as Redis),
        redisSubscriber: infra.redisSubscriber ?? (null as unknown as Redis),
      }),
    ],
    providers: [
      ...ORDER_REPOSITORIES,
      AfterCommitDispatcher,
      OrderLedger,
      GatewayMetrics,
      BrokerRoundTrips,
      // The brokers' per-app order rate of PreTradeRisk and the cancel path (counts nothing without a Schwab broker).
      BrokerOrderRate,
      { provide: CLOCK, useValue: infra.clock ?? systemClock },
      ...brokerProviders(infra),
      ...providers,
    ],
  }).compile();
}
