import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { REDIS, REDIS_SUBSCRIBER } from '../redis/redis.provider.js';
import { AccountLock } from './account-lock.js';
import { DatabaseHealth } from './database-health.js';

/** What main.ts built before Nest starts, that every feature may use. */
export interface InfrastructureDependencies {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly dataSource: DataSource;
  readonly redis: Redis;
  readonly redisSubscriber: Redis;
}

/**
 * The process's infrastructure (global: every feature module reads it): the configuration, the
 * logger, PostgreSQL, Redis, and the account lock for work that appends no order event.
 */
@Module({})
export class PersistenceModule {
  static register(deps: InfrastructureDependencies): DynamicModule {
    const providers = [
      { provide: GATEWAY_CONFIG, useValue: deps.config },
      { provide: LOGGER, useValue: deps.logger },
      { provide: DataSource, useValue: deps.dataSource },
      { provide: REDIS, useValue: deps.redis },
      { provide: REDIS_SUBSCRIBER, useValue: deps.redisSubscriber },
      AccountLock,
      DatabaseHealth,
    ];
    return {
      module: PersistenceModule,
      global: true,
      providers,
      exports: [GATEWAY_CONFIG, LOGGER, DataSource, REDIS, REDIS_SUBSCRIBER, AccountLock, DatabaseHealth],
    };
  }
}
