import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { GatewayMetrics } from '../../health/metrics.js';
import { AfterCommitDispatcher } from './after-commit.dispatcher.js';

/**
 * After commit: `gateway_orders_total` of the place command: a new order (`pending_new`) counts as
 * `created`, one denied by the risk check (`denied`) as `denied`. A replacement (`replacesOrderId` set)
 * is not a placed order and counts nothing. Retries record no event: PlaceOrderHandler counts them.
 */
@Injectable()
export class CountPlacedOrders implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly dispatcher: AfterCommitDispatcher,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    this.unregister = this.dispatcher.register((events) => {
      for (const { event, order } of events) {
        if (order.replacesOrderId === null && (event === 'pending_new' || event === 'denied')) {
          this.metrics.ordersPlaced.inc({
            outcome: event === 'pending_new' ? 'created' : 'denied',
            environment: order.environment,
          });
        }
      }
    });
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }
}
