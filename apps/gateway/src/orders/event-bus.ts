import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { REDIS, REDIS_SUBSCRIBER } from '../redis/redis.provider.js';
import type { StreamEvent } from './stream-event.js';

export type StreamEventListener = (event: StreamEvent) => void;

/**
 * Fans committed order events out to this instance's stream clients and, through Redis pub/sub, to
 * every other instance. Delivery here is best-effort and may duplicate or drop: subscribers detect
 * both by `seq` and heal gaps from PostgreSQL, which is the record.
 */
@Injectable()
export class EventBus implements OnModuleInit, OnModuleDestroy {
  private readonly listeners = new Set<StreamEventListener>();
  private readonly resyncListeners = new Set<() => void>();
  private subscribedOnce = false;
  private readonly instanceId = randomUUID();
  private readonly channel: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.channel = `${config.redisPrefix}order-events`;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) {
        return;
      }
      try {
        const { from, events } = JSON.parse(message) as { from: string; events: StreamEvent[] };
        if (from !== this.instanceId) {
          events.forEach((e) => this.deliver(e));
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'dropped a malformed fan-out message');
      }
    });
    // ioredis re-subscribes by itself after a reconnect; what other instances published meanwhile was
    // lost, so subscribers re-read from PostgreSQL.
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) {
        this.logger.info('Redis fan-out reconnected; stream subscribers resync from PostgreSQL');
        this.resyncListeners.forEach((l) => l());
      }
    });
    await this.subscriber.subscribe(this.channel).then(
      () => {
        this.subscribedOnce = true;
      },
      (error: unknown) => {
        this.logger.warn({ err: error }, 'Redis fan-out unavailable; streaming from this instance only');
      },
    );
  }

  /** Called when fan-out may have lost messages (Redis reconnect): subscribers re-read from PostgreSQL. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  onModuleDestroy(): void {
    this.listeners.clear();
    this.resyncListeners.clear();
  }

  subscribe(listener: StreamEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes events that are already committed. Never throws. */
  publish(events: readonly StreamEvent[]): void {
    if (events.length === 0) {
      return;
    }
    events.forEach((e) => this.deliver(e));
    this.redis.publish(this.channel, JSON.stringify({ from: this.instanceId, events })).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'Redis publish failed; other instances heal from PostgreSQL');
    });
  }

  private deliver(event: StreamEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'stream listener failed');
      }
    }
  }
}
