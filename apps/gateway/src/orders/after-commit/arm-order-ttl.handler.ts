import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { OrderTtlScheduler } from '../order-ttl.scheduler.js';
import { AfterCommitDispatcher } from './after-commit.dispatcher.js';

/** After commit: an order accepted with a `ttlMs` (its `pending_new` event) gets its deadline armed. */
@Injectable()
export class ArmOrderTtl implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly dispatcher: AfterCommitDispatcher,
    private readonly ttl: OrderTtlScheduler,
  ) {}

  onModuleInit(): void {
    this.unregister = this.dispatcher.register((events) => {
      for (const { event, order } of events) {
        if (event === 'pending_new' && order.ttlMs !== null) {
          this.ttl.schedule(order.accountId, order.id, Date.parse(order.createdAt) + order.ttlMs);
        }
      }
    });
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }
}
