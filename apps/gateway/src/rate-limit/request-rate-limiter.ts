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
import { RateLimitMetrics } from './rate-limit.metrics.js';
import type { RateRule } from '../config/rate-rules.js';

/** Which budget a request was counted against (also the `scope` label of the metrics). */
export type RateLimitScope = 'requests' | 'orders' | 'unauthenticated';

/** The outcome of counting a request: expected, so a result rather than an exception. */
export type RateDecision =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'limited'; readonly scope: RateLimitScope; readonly retryAfterMs: number };

/** A Redis command slower than this is treated like Redis being down (the in-memory limiter answers). */
const STORE_TIMEOUT_MS = 250;
/** At most one "Redis is gone, limits are per instance" warning per this many ms. */
const FALLBACK_WARN_EVERY_MS = 60_000;

interface Limit {
  readonly scope: RateLimitScope;
  readonly rule: RateRule;
  readonly limiter: RateLimiterAbstract;
}

const ALLOWED: RateDecision = { kind: 'allowed' };

/** The in-memory limiter that stands in while Redis is unreachable; tells when it is used. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    opts: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(opts);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }

  override get(key: string | number, options?: Record<string, unknown>): Promise<RateLimiterRes | null> {
    this.onUse();
    return super.get(key, options);
  }
}

/**
 * Per-client request budgets shared by every gateway instance: fixed windows counted in Redis by
 * `rate-limiter-flexible` (`RateLimiterRedis`, one atomic Lua increment per rule), keys under
 * REDIS_PREFIX. A client is an authenticated subject, or a remote IP for requests without a valid token.
 *
 * When Redis is down or slower than 250 ms, each rule falls back to its `insuranceLimiter`, an
 * in-memory limiter of the same size in this process: limits then hold per instance (N instances let
 * a client through N times over) instead of turning every request into a 5xx. Counts are not merged
 * back when Redis returns. Any other limiter error lets the request through (logged): the limiter
 * protects the gateway, it must never be the reason it is down.
 */
@Injectable()
export class RequestRateLimiter {
  private readonly requests: readonly Limit[];
  private readonly orders: readonly Limit[];
  private readonly unauthenticated: readonly Limit[];
  private lastFallbackWarning = 0;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(RateLimitMetrics) private readonly metrics: RateLimitMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const prefix = `${config.redisPrefix}ratelimit:`;
    this.requests = this.build(prefix, 'requests', config.rateLimit.requests);
    this.orders = this.build(prefix, 'orders', config.rateLimit.orders);
    this.unauthenticated = this.build(prefix, 'unauthenticated', config.rateLimit.unauthenticated);
  }

  /** Counts one request of `subject`; an order placement or replacement (`isOrder`) counts in both budgets. */
  async consumeClient(subject: string, isOrder: boolean): Promise<RateDecision> {
    return this.counted(await this.consume(isOrder ? [...this.requests, ...this.orders] : this.requests, subject));
  }

  /** Whether `address` has used up its budget of requests without a valid token (reads only). */
  async checkAddress(address: string): Promise<RateDecision> {
    const states = await Promise.all(
      this.unauthenticated.map(async (limit) => {
        try {
          const res = await limit.limiter.get(address);
          return res && res.consumedPoints >= limit.rule.points ? res.msBeforeNext : null;
        } catch (error) {
          this.logger.warn({ err: error, scope: limit.scope }, 'rate limit check failed; request let through');
          return null;
        }
      }),
    );
    return this.counted(this.decide('unauthenticated', states));
  }

  /** Counts one request of `address` that was refused for want of a valid token (answered 401, not a 429). */
  async chargeAddress(address: string): Promise<void> {
    await this.consume(this.unauthenticated, address);
  }

  private async consume(limits: readonly Limit[], key: string): Promise<RateDecision> {
    const states = await Promise.all(
      limits.map(async (limit) => {
        try {
          await limit.limiter.consume(key);
          return null;
        } catch (rejection) {
          if (rejection instanceof RateLimiterRes) {
            return rejection.msBeforeNext;
          }
          this.logger.warn({ err: rejection, scope: limit.scope }, 'rate limit check failed; request let through');
          return null;
        }
      }),
    );
    const refused = limits.filter((_, i) => states[i] !== null);
    if (refused.length === 0) {
      return ALLOWED;
    }
    // Name the order budget when it refused: it is the one the client has to slow down for.
    return this.decide(refused.some((l) => l.scope === 'orders') ? 'orders' : refused[0]!.scope, states);
  }

  private decide(scope: RateLimitScope, states: readonly (number | null)[]): RateDecision {
    const waits = states.filter((ms): ms is number => ms !== null);
    if (waits.length === 0) {
      return ALLOWED;
    }
    // Every refusing window must have passed before the next request can succeed.
    return { kind: 'limited', scope, retryAfterMs: Math.max(0, ...waits) };
  }

  private counted(decision: RateDecision): RateDecision {
    if (decision.kind === 'limited') {
      this.metrics.refused(decision.scope);
    }
    return decision;
  }

  private build(prefix: string, scope: RateLimitScope, rules: readonly RateRule[]): Limit[] {
    return rules.map((rule) => {
      const options = {
        keyPrefix: `${prefix}${scope}:${rule.points}/${rule.seconds}s`,
        points: rule.points,
        duration: rule.seconds,
      };
      const store = new RateLimiterRedis({
        ...options,
        storeClient: this.redis,
        // ioredis has its offline queue off (redis.provider.ts): go to the insurance limiter at once.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new InsuranceLimiter(options, () => this.onFallback()),
      });
      return { scope, rule, limiter: new RLWrapperTimeouts({ limiter: store, timeoutMs: STORE_TIMEOUT_MS }) };
    });
  }

  private onFallback(): void {
    this.metrics.fallbacks.inc();
    const now = Date.now();
    if (now - this.lastFallbackWarning >= FALLBACK_WARN_EVERY_MS) {
      this.lastFallbackWarning = now;
      this.logger.warn('Redis unavailable: rate limits are counted per instance (in memory) until it is back');
    }
  }
}
