import { type Clock, isOpenStatus } from '@gateway/oms';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { ApiError } from '../common/api-error.js';
import { CLOCK } from '../market/market.tokens.js';
import { CancelOrderHandler } from './commands/cancel-order.handler.js';
import { OrderQueries } from './order-queries.service.js';
import { OrderRepository } from './persistence/order.repository.js';

/** First retry of a cancel the order could not take yet (a pending replace, a refused cancel); doubles. */
const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 5_000;
/** A cancel the broker keeps refusing is not hammered: after these refusals the order is left to an alert. */
const MAX_REFUSALS = 5;

/**
 * `ttlMs` (API.md): cancels an order that is still working `ttlMs` after it was placed (its durable
 * intent). Deadlines live in PostgreSQL (`created_at + ttl_ms`), so every instance re-arms them at
 * start-up; two instances firing the same deadline is harmless (the second cancel finds it pending).
 * An order not yet acknowledged gets its cancel recorded and sent on the ack (CancelOrderHandler); one
 * that cannot take a cancel yet is retried with back-off for as long as it is open.
 */
@Injectable()
export class OrderTtlScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly retryDelays = new Map<string, number>();
  private readonly refusals = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly orderRepository: OrderRepository,
    private readonly queries: OrderQueries,
    private readonly cancelOrder: CancelOrderHandler,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const open = await this.orderRepository.ttlDeadlines();
    for (const o of open) {
      this.schedule(o.accountId, o.id, o.deadline);
    }
    if (open.length > 0) {
      this.logger.info({ count: open.length }, 'order time-to-live deadlines re-armed');
    }
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
  }

  /** Arms the deadline (epoch ms) of an order. */
  schedule(accountId: string, orderId: string, deadline: number): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.timers.get(orderId));
    const timer = setTimeout(() => void this.fire(accountId, orderId), Math.max(0, deadline - this.clock.now()));
    timer.unref();
    this.timers.set(orderId, timer);
  }

  private async fire(accountId: string, orderId: string): Promise<void> {
    this.timers.delete(orderId);
    try {
      const order = await this.queries.get(accountId, orderId);
      if (!isOpenStatus(order.status) || order.status === 'pending_cancel') {
        this.retryDelays.delete(orderId);
        return;
      }
      await this.cancelOrder.execute(accountId, orderId);
      this.retryDelays.delete(orderId);
      this.refusals.delete(orderId);
      this.logger.info({ orderId, accountId }, 'order canceled at the end of its time to live');
    } catch (error) {
      const delay = Math.min((this.retryDelays.get(orderId) ?? FIRST_RETRY_MS / 2) * 2, MAX_RETRY_MS);
      this.retryDelays.set(orderId, delay);
      const notCancelable = error instanceof ApiError && error.code === 'order.not_cancelable';
      // A pending replace settles by itself: wait for it as long as it takes. A broker refusal may not.
      const refused = notCancelable && error.extra.orderStatus !== 'pending_replace';
      if (refused) {
        const count = (this.refusals.get(orderId) ?? 0) + 1;
        this.refusals.set(orderId, count);
        if (count >= MAX_REFUSALS) {
          this.refusals.delete(orderId);
          this.retryDelays.delete(orderId);
          this.logger.error(
            { orderId, accountId, refusals: count, alert: 'ttl_cancel_refused' },
            'the broker keeps refusing the time-to-live cancel; the order is left working',
          );
          return;
        }
      } else if (!notCancelable) {
        this.logger.error({ err: error, orderId, accountId }, 'time-to-live cancel failed; retrying');
      }
      this.schedule(accountId, orderId, this.clock.now() + delay);
    }
  }
}
