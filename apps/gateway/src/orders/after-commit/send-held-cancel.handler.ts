import { WORKING_STATUSES } from '@gateway/oms';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../common/logger.js';
import { CancelOrderHandler } from '../commands/cancel-order.handler.js';
import { AfterCommitDispatcher } from './after-commit.dispatcher.js';

/**
 * After commit: a cancel asked for before the broker acknowledged the order (`cancelRequestedAt` set,
 * held on the order) is sent once an event shows the order working (its acknowledgement, or a fill
 * before it), through CancelOrderHandler with `onlyIfRequested` (so a cancel already sent is not sent
 * again). Every instance that records an acknowledgement dispatches its events, so this sees all of
 * them; the reconciler's sweep sends the held cancels should one be missed (`send`).
 */
@Injectable()
export class SendHeldCancel implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly dispatcher: AfterCommitDispatcher,
    private readonly cancelOrder: CancelOrderHandler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.unregister = this.dispatcher.register((events) => {
      for (const { order } of events) {
        if (order.cancelRequestedAt !== null && WORKING_STATUSES.has(order.status)) {
          void this.send(order.accountId, order.id);
        }
      }
    });
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }

  /** Sends the cancel held on an order, now that it works at the venue; a failure is logged, never thrown. */
  async send(accountId: string, orderId: string): Promise<void> {
    try {
      await this.cancelOrder.execute(accountId, orderId, { onlyIfRequested: true });
      this.logger.info({ orderId, accountId }, 'cancel requested before the acknowledgement sent');
    } catch (error) {
      this.logger.warn({ err: error, orderId, accountId }, 'requested cancel could not be sent');
    }
  }
}
