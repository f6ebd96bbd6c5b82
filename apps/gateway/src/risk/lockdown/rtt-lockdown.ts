import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Principal } from '../../auth/principal.js';
import { LOGGER } from '../../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.js';
import { type LockdownConfig, lockdownThresholdMs } from '../../config/lockdown-config.js';
import { BrokerRoundTrips, type RoundTripWindow } from '../../health/broker-round-trips.js';
import { GatewayMetrics } from '../../health/metrics.js';
import { REDIS } from '../../redis/redis.provider.js';
import { TradingControlService } from '../trading-control.service.js';
import { LockdownAccountsRepository } from './lockdown-accounts.repository.js';

/** How often each venue's window is evaluated. */
const TICK_MS = 250;
/** Least time between two passes over a venue's accounts in the database while nothing changes. */
const ACCOUNTS_PASS_MS = 1_000;
/** How long an instance's hold on a venue's lockdown lasts in Redis without being renewed. */
const HOLD_TTL_MS = 5_000;
/** A Redis call that takes longer is given up: the lockdown then decides on this instance's view alone. */
const REDIS_TIMEOUT_MS = 500;

/** Who the lockdown's trading-state changes are recorded as changed by. */
const LOCKDOWN_PRINCIPAL = new Principal('gateway', new Set(), new Set());

interface VenueState {
  /** Over the threshold, or not yet under it for the hold-off. */
  locked: boolean;
  /** Since when (epoch ms) the window has been under the threshold; null while over. */
  underSince: number | null;
  /** The figure behind the lockdown, for the reason recorded on the accounts. */
  reason: string;
  lastPassAt: number;
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/**
 * The RTT lockdown (README, "RTT lockdown"). Every 250 ms each venue's broker round trips over the sliding
 * window (BrokerRoundTrips, this instance's own) are read; when at least LOCKDOWN_MIN_SAMPLES are there and
 * their p99 exceeds the venue's LOCKDOWN_RTT_MS, the venue is locked down: every account of the venue whose
 * own state is `active` goes `reducing` with source `lockdown` and the figure in its reason, through
 * TradingControlService (recorded in the history, logged, read by every order under its account lock), so
 * entries are refused (`422 risk.entries_blocked`) and exits pass. While locked, accounts that become
 * `active` again (risk staff lifting it early) are taken again at the next pass.
 *
 * It ends once the window has stayed under the threshold (or held fewer than the minimum samples) for
 * LOCKDOWN_HOLD_OFF_MS. With LOCKDOWN_LIFT=auto the accounts the lockdown set `reducing` (and no one has set
 * since) go back to `active`, source `lockdown`; with `manual` they stay until risk staff set them
 * (`PUT /v1/accounts/{id}/trading-state`).
 *
 * Several instances: each measures its own round trips (its own path to the venue); any one of them locks
 * the venue's accounts down for all, since the state is in PostgreSQL. An instance that is locked holds
 * `<prefix>lockdown:<venue>` in Redis (its id, renewed every pass, lapsing after 5 s), and no instance lifts
 * while another's hold is there, so a lockdown lasts as long as any instance still sees the latency. With
 * Redis unreachable an instance decides on its own view.
 */
@Injectable()
export class RttLockdown implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config: LockdownConfig;
  private readonly venues = new Map<string, VenueState>();
  private readonly instanceId = randomUUID();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly roundTrips: BrokerRoundTrips,
    private readonly accounts: LockdownAccountsRepository,
    private readonly control: TradingControlService,
    private readonly metrics: GatewayMetrics,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly gatewayConfig: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.config = gatewayConfig.lockdown;
  }

  onApplicationBootstrap(): void {
    const configured = Object.keys(this.gatewayConfig.brokers);
    if (configured.every((venue) => lockdownThresholdMs(this.config, venue) === null)) {
      return; // off for every venue
    }
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = null;
      });
    }, TICK_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    const venues = new Set([...Object.keys(this.gatewayConfig.brokers), ...this.roundTrips.venues()]);
    for (const venue of venues) {
      const threshold = lockdownThresholdMs(this.config, venue);
      if (threshold === null) {
        continue;
      }
      try {
        await this.evaluate(venue, threshold, this.roundTrips.window(venue));
      } catch (error) {
        this.logger.error({ err: error, venue }, 'RTT lockdown pass failed; retried at the next');
      }
    }
  }

  private async evaluate(venue: string, threshold: number, window: RoundTripWindow): Promise<void> {
    const now = Date.now();
    let v = this.venues.get(venue);
    if (!v) {
      v = { locked: false, underSince: this.startedAt, reason: '', lastPassAt: 0 };
      this.venues.set(venue, v);
    }
    this.metrics.lockdownThreshold.set({ venue }, threshold / 1000);
    this.metrics.brokerRttWindowCount.set({ venue }, window.count);
    if (window.p50Ms !== null && window.p99Ms !== null && window.maxMs !== null) {
      this.metrics.brokerRttWindow.set({ venue, quantile: '0.5' }, window.p50Ms / 1000);
      this.metrics.brokerRttWindow.set({ venue, quantile: '0.99' }, window.p99Ms / 1000);
      this.metrics.brokerRttWindow.set({ venue, quantile: '1' }, window.maxMs / 1000);
    }
    const over = window.count >= this.config.minSamples && window.p99Ms !== null && window.p99Ms > threshold;
    let changed = false;
    if (over) {
      v.reason =
        `RTT lockdown: broker round trip p99 ${ms(window.p99Ms)} ms to ${venue} over the last ` +
        `${this.config.windowMs / 1000} s (${window.count} round trips, max ${ms(window.maxMs!)} ms) ` +
        `exceeds LOCKDOWN_RTT_MS ${threshold} ms`;
      v.underSince = null;
      if (!v.locked) {
        v.locked = true;
        changed = true;
        this.logger.error({ ...window, alert: 'rtt_lockdown', thresholdMs: threshold }, v.reason);
      }
    } else {
      v.underSince ??= now;
      if (v.locked && now - v.underSince >= this.config.holdOffMs) {
        v.locked = false;
        changed = true;
        this.logger.warn(
          { ...window, thresholdMs: threshold, lift: this.config.lift },
          `RTT lockdown of ${venue} over: the window has been under ${threshold} ms for ${this.config.holdOffMs / 1000} s`,
        );
      }
    }
    this.metrics.lockdownActive.set({ venue }, v.locked ? 1 : 0);
    if (!changed && now - v.lastPassAt < ACCOUNTS_PASS_MS) {
      return;
    }
    v.lastPassAt = now;
    if (v.locked) {
      await this.hold(venue, now);
      await this.engage(venue, v.reason);
      return;
    }
    await this.release(venue);
    if (this.config.lift === 'auto' && v.underSince !== null && now - v.underSince >= this.config.holdOffMs) {
      await this.lift(venue, threshold, window);
    }
  }

  private async engage(venue: string, reason: string): Promise<void> {
    for (const accountId of await this.accounts.activeAccounts(venue)) {
      await this.control.setAccountStateIf(LOCKDOWN_PRINCIPAL, accountId, 'reducing', reason, 'lockdown', (scope) =>
        Promise.resolve(scope.account.tradingState === 'active'),
      );
    }
  }

  private async lift(venue: string, threshold: number, window: RoundTripWindow): Promise<void> {
    const accounts = await this.accounts.lockedDownAccounts(venue);
    if (accounts.length === 0 || (await this.heldElsewhere(venue))) {
      return;
    }
    const figure =
      window.p99Ms === null ? 'no round trips' : `p99 ${ms(window.p99Ms)} ms (${window.count} round trips)`;
    const reason =
      `RTT lockdown lifted: broker round trips to ${venue} under LOCKDOWN_RTT_MS ${threshold} ms for ` +
      `${this.config.holdOffMs / 1000} s (last ${this.config.windowMs / 1000} s: ${figure})`;
    for (const accountId of accounts) {
      await this.control.setAccountStateIf(LOCKDOWN_PRINCIPAL, accountId, 'active', reason, 'lockdown', (scope) =>
        this.accounts.isLockedDown(scope),
      );
    }
  }

  private key(venue: string): string {
    return `${this.gatewayConfig.redisPrefix}lockdown:${venue}`;
  }

  /** This instance still sees the venue locked: its hold in Redis, renewed. */
  private async hold(venue: string, now: number): Promise<void> {
    await this.redisCall(
      this.redis
        .multi()
        .hset(this.key(venue), this.instanceId, String(now + HOLD_TTL_MS))
        .pexpire(this.key(venue), HOLD_TTL_MS * 2)
        .exec(),
    );
  }

  private async release(venue: string): Promise<void> {
    await this.redisCall(this.redis.hdel(this.key(venue), this.instanceId));
  }

  /** Whether another instance holds the venue's lockdown (a hold not yet lapsed). */
  private async heldElsewhere(venue: string): Promise<boolean> {
    const holds = await this.redisCall(this.redis.hgetall(this.key(venue)));
    const now = Date.now();
    return Object.entries(holds ?? {}).some(([id, until]) => id !== this.instanceId && Number(until) > now);
  }

  /** A Redis call bounded in time; null when Redis failed or was too slow (the instance's own view decides). */
  private async redisCall<T>(call: Promise<T>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), REDIS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        call.catch((error: unknown) => {
          this.logger.debug({ err: error }, 'RTT lockdown: Redis unavailable, deciding on this instance alone');
          return null;
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
