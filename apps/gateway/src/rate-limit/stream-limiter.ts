import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.provider.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';

/** One authenticated stream connection counted against its subject's limit. */
export interface StreamLease {
  readonly subject: string;
  /** `<instance id>:<n>`: the member of the subject's sorted set in Redis. */
  readonly member: string;
}

/**
 * Drops expired leases (score = expiry, Redis time in ms), then adds ARGV[3] unless the subject
 * already holds ARGV[1] live ones. Returns 1 when added. Atomic, so two instances cannot both take
 * the last slot.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Extends the lease ARGV[2] by ARGV[1] ms from now (re-adding it if Redis lost it meanwhile). */
const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** A Redis answer slower than this counts as Redis being down (this instance's own count decides). */
const REDIS_TIMEOUT_MS = 250;

/**
 * The stream's abuse limits (API.md "Stream"): WS_MAX_SUBSCRIPTIONS per connection, and
 * WS_MAX_CONNECTIONS_PER_PRINCIPAL authenticated connections per subject across every instance.
 *
 * Connections are leases in a Redis sorted set per subject, refreshed every WS_PING_INTERVAL_MS and
 * expiring after three intervals, so the connections of an instance that died without closing them
 * stop counting within that time. While Redis is unreachable each instance counts only its own
 * connections (the limit then holds per instance).
 */
@Injectable()
export class StreamLimiter implements OnModuleDestroy {
  private readonly instance = randomUUID();
  private readonly leases = new Set<StreamLease>();
  private readonly leaseMs: number;
  private readonly keyPrefix: string;
  private sequence = 0;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RateLimitMetrics) private readonly metrics: RateLimitMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.leaseMs = 3 * config.ws.pingIntervalMs;
    this.keyPrefix = `${config.redisPrefix}ratelimit:stream:`;
  }

  /** Whether a connection holding `current` subscriptions may add one more (counts a refusal). */
  allowsSubscription(current: number): boolean {
    if (current < this.config.rateLimit.wsMaxSubscriptions) {
      return true;
    }
    this.metrics.refused('stream_subscriptions');
    return false;
  }

  /** Takes a connection slot of `subject`, or null when it already has the most it may. */
  async acquire(subject: string): Promise<StreamLease | null> {
    const max = this.config.rateLimit.wsMaxConnectionsPerPrincipal;
    const lease: StreamLease = { subject, member: `${this.instance}:${++this.sequence}` };
    let granted: boolean;
    try {
      const added = await this.withTimeout(
        this.redis.eval(ACQUIRE, 1, this.key(subject), max, this.leaseMs, lease.member),
      );
      granted = added === 1;
    } catch (error) {
      this.logger.warn({ err: error }, 'Redis unavailable: stream connections are counted per instance');
      granted = [...this.leases].filter((l) => l.subject === subject).length < max;
      if (!granted) {
        // The timed-out script may still land: take its lease back.
        this.forget(lease);
      }
    }
    if (!granted) {
      this.metrics.refused('stream_connections');
      return null;
    }
    this.leases.add(lease);
    this.refreshTimer ??= setInterval(() => void this.refresh(), this.config.ws.pingIntervalMs).unref();
    return lease;
  }

  /** Gives the slot back (the connection closed). */
  release(lease: StreamLease): void {
    if (this.leases.delete(lease)) {
      this.forget(lease);
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.refreshTimer);
    const held = [...this.leases];
    this.leases.clear();
    if (held.length > 0) {
      const pipeline = this.redis.pipeline();
      held.forEach((l) => pipeline.zrem(this.key(l.subject), l.member));
      await this.withTimeout(pipeline.exec()).catch(() => undefined);
    }
  }

  private async refresh(): Promise<void> {
    if (this.leases.size === 0) {
      return;
    }
    const pipeline = this.redis.pipeline();
    this.leases.forEach((l) => pipeline.eval(REFRESH, 1, this.key(l.subject), this.leaseMs, l.member));
    await this.withTimeout(pipeline.exec()).catch((error: unknown) =>
      this.logger.debug({ err: error }, 'stream lease refresh failed'),
    );
  }

  private forget(lease: StreamLease): void {
    this.redis.zrem(this.key(lease.subject), lease.member).catch(() => undefined);
  }

  private key(subject: string): string {
    return `${this.keyPrefix}${subject}`;
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${REDIS_TIMEOUT_MS} ms`)),
        REDIS_TIMEOUT_MS,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
