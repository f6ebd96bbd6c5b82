import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.provider.js';

/** Whether one more order request to a broker fits its app-wide limit. */
export type BrokerRateDecision =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'limited'; readonly broker: string; readonly reason: string; readonly retryAfterMs: number };

/** A Redis command slower than this is treated like Redis being down (the in-memory limiter answers). */
const STORE_TIMEOUT_MS = 250;
const ALLOWED: BrokerRateDecision = { kind: 'allowed' };

interface BrokerLimit {
  readonly perMinute: number;
  readonly limiter: RateLimiterAbstract;
}

/**
 * A broker's order rate limit per app (Schwab: place, cancel and replace per minute, set at registration;
 * PROTOCOLS.md A3), counted across every gateway instance in Redis by `rate-limiter-flexible`
 * (`RateLimiterRedis`, keys under REDIS_PREFIX), like the request limits of RequestRateLimiter.
 *
 * Schwab counts a rolling minute (unverified how exactly); Redis counts fixed one-minute windows, and any
 * rolling minute overlaps two of them. So each window allows half the app's limit: the gateway can then never
 * send more than the limit in any minute, at the price of using half of it in a burst. An order that does not
 * fit is refused before it is sent (`422 risk.message_rate`, PreTradeRisk); cancels are counted but never
 * refused (they reduce risk). When Redis is down or slow, an in-memory limiter of the same size counts in
 * this instance (the limit then holds per instance); any other limiter error lets the request through,
 * logged: the broker's own 429 is then the backstop (a rejection, nothing lost).
 */
@Injectable()
export class BrokerOrderRate {
  private readonly limits = new Map<string, BrokerLimit>();

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    for (const [broker, adapter] of Object.entries(config.brokers)) {
      if (adapter.adapter !== 'schwab' || adapter.orderRatePerMinute === null) {
        continue;
      }
      const options = {
        keyPrefix: `${config.redisPrefix}broker-order-rate:${broker}`,
        points: Math.floor(adapter.orderRatePerMinute / 2),
        duration: 60,
      };
      const store = new RateLimiterRedis({
        ...options,
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
      });
      this.limits.set(broker, {
        perMinute: adapter.orderRatePerMinute,
        limiter: new RLWrapperTimeouts({ limiter: store, timeoutMs: STORE_TIMEOUT_MS }),
      });
    }
  }

  /** Counts one order or replace to `broker`; `limited` (nothing counted) when it would exceed the app's limit. */
  async take(broker: string): Promise<BrokerRateDecision> {
    const limit = this.limits.get(broker);
    if (!limit) {
      return ALLOWED;
    }
    try {
      await limit.limiter.consume('app');
      return ALLOWED;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        const seconds = Math.ceil(rejection.msBeforeNext / 1000);
        return {
          kind: 'limited',
          broker,
          retryAfterMs: rejection.msBeforeNext,
          reason:
            `${broker} allows the app ${limit.perMinute} order requests (orders, replaces, cancels) per minute ` +
            `(BROKER_${broker.toUpperCase()}_ORDER_RATE_PER_MINUTE; the gateway sends at most half in any one-minute ` +
            `window so no rolling minute exceeds it): this order would exceed it; send it again in ${seconds} s`,
        };
      }
      this.logger.warn({ err: rejection, broker }, 'broker order rate check failed; the order is let through');
      return ALLOWED;
    }
  }

  /** Counts one cancel to `broker` (never refused: a cancel reduces risk). */
  async count(broker: string): Promise<void> {
    const limit = this.limits.get(broker);
    if (!limit) {
      return;
    }
    await limit.limiter.penalty('app', 1).catch((error: unknown) => {
      this.logger.warn({ err: error, broker }, 'broker order rate: a cancel could not be counted');
    });
  }
}
