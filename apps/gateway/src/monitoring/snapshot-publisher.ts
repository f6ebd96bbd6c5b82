import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type BrokerRegistry, hasOrderBook, type OrderBookSource } from '@gateway/brokers';
import type { MarketDataFeed } from '@gateway/oms';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { BROKER_REGISTRY, MARKET_DATA } from '../market/market.tokens.js';
import { createRedis } from '../redis/redis.provider.js';
import { MarketWatch } from './market-watch.js';
import { MetricsSampler } from './metrics-sampler.js';
import { ProcessSampler } from './process-sampler.js';
import { type BrokerClientState, type GatewaySnapshot, SNAPSHOT_CHANNEL, type StateSnapshot } from './snapshot.js';
import { StateReader } from './state-reader.js';

/** A publish that has not answered in this time is given up (the next snapshot goes when it has). */
const PUBLISH_TIMEOUT_MS = 1_000;
/** A drop is logged at most this often. */
const DROP_LOG_MS = 30_000;

/**
 * Publishes this instance's GatewaySnapshot to Redis (`<REDIS_PREFIX>monitor:snapshot`) every
 * MONITOR_SNAPSHOT_MS (0: off), on a Redis connection of its own that fails fast (no offline queue), so
 * nothing else waits behind it. A snapshot is dropped, never queued, while Redis is not connected or the
 * previous one is still being published; the database part (StateReader) is re-read every
 * MONITOR_STATE_MS, at most one read at a time, and each snapshot carries the latest; while no monitor
 * is subscribed (PUBLISH reached nobody) the database is not read at all. The timers are
 * unref'd and nothing of the order path awaits any of it: the order path only adds to the metrics
 * registry as it always does.
 */
@Injectable()
export class SnapshotPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly instance = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly channel: string;
  private readonly redis: Redis;
  private readonly processSampler = new ProcessSampler();
  private readonly metricsSampler: MetricsSampler;
  private readonly market: MarketWatch;
  /** The paper venue's replay, when the feed is one: its LOBSTER depth book goes in every snapshot. */
  private readonly depth: OrderBookSource | null;
  private readonly brokerSince = new Map<string, { connected: boolean; reason: string | null; since: number }>();
  private timer: NodeJS.Timeout | null = null;
  private publishing = false;
  private reading = false;
  private lastStateRead = 0;
  private state: StateSnapshot | null = null;
  /** Monitors that received the last snapshot (PUBLISH's answer): without any, the database is not read. */
  private listeners = 0;
  private seq = 0;
  private dropped = 0;
  private lastDropLog = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BROKER_REGISTRY) private readonly registry: BrokerRegistry<unknown>,
    @Inject(MARKET_DATA) feed: MarketDataFeed,
    metrics: GatewayMetrics,
    private readonly reader: StateReader,
  ) {
    this.channel = `${config.redisPrefix}${SNAPSHOT_CHANNEL}`;
    this.redis = createRedis(config.redisUrl, 'gateway-monitor');
    this.metricsSampler = new MetricsSampler(metrics.registry);
    this.market = new MarketWatch(feed, config.risk.maxQuoteAgeMs);
    this.depth = hasOrderBook(feed) ? feed : null;
  }

  onApplicationBootstrap(): void {
    if (this.config.monitor.snapshotMs === 0) {
      return;
    }
    this.redis.connect().catch(() => undefined); // it reconnects by itself; snapshots are dropped meanwhile
    this.processSampler.start();
    this.market.start();
    this.unsubscribe = this.registry.onConnectionChange((c) =>
      this.brokerSince.set(c.key, { connected: c.connected, reason: c.connected ? null : c.reason, since: Date.now() }),
    );
    this.timer = setInterval(() => this.tick(), this.config.monitor.snapshotMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.unsubscribe?.();
    this.market.stop();
    this.processSampler.stop();
    this.redis.disconnect();
    await Promise.resolve();
  }

  private tick(): void {
    const now = Date.now();
    if (this.listeners > 0 && !this.reading && now - this.lastStateRead >= this.config.monitor.stateMs) {
      this.reading = true;
      this.lastStateRead = now;
      this.reader.read(now).then(
        (state) => {
          this.state = state;
          this.reading = false;
        },
        (error: unknown) => {
          this.reading = false;
          this.logger.debug({ err: error }, 'monitor: state not read');
        },
      );
    }
    // Sampled every tick, published or not, so each interval's figures cover that interval.
    const processFigures = this.processSampler.sample();
    if (this.publishing || this.redis.status !== 'ready') {
      this.drop(now);
      return;
    }
    this.publishing = true;
    void this.publish(now, processFigures).finally(() => {
      this.publishing = false;
    });
  }

  private async publish(now: number, processFigures: GatewaySnapshot['process']): Promise<void> {
    try {
      const { counters, gauges, histograms } = await this.metricsSampler.sample();
      const halted = this.state?.global.state === 'halted' ? 'trading halted globally' : null;
      const snapshot: GatewaySnapshot = {
        v: 1,
        instance: this.instance,
        at: now,
        seq: ++this.seq,
        dropped: this.dropped,
        process: processFigures,
        counters,
        gauges,
        histograms,
        brokers: this.brokerStates(now),
        market: this.market.sample(halted),
        book: this.depth?.orderBook() ?? null,
        state: this.state,
      };
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        this.redis.publish(this.channel, JSON.stringify(snapshot)).then((n) => (this.listeners = n)),
        new Promise((_, reject) => {
          timeout = setTimeout(() => reject(new Error('publish timed out')), PUBLISH_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timeout));
    } catch (error) {
      this.drop(now, error);
    }
  }

  private brokerStates(now: number): BrokerClientState[] {
    return this.registry.clients().map((c) => {
      const seen = this.brokerSince.get(c.key);
      return {
        key: c.key,
        broker: c.broker,
        connected: seen?.connected ?? true,
        reason: seen?.reason ?? null,
        since: seen?.since ?? now,
      };
    });
  }

  private drop(now: number, error?: unknown): void {
    this.dropped++;
    if (now - this.lastDropLog >= DROP_LOG_MS) {
      this.lastDropLog = now;
      this.logger.warn(
        { dropped: this.dropped, redis: this.redis.status, detail: error instanceof Error ? error.message : undefined },
        'monitor snapshot dropped (Redis not ready or slow); trading is not affected',
      );
    }
  }
}
