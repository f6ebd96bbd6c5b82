import type { Clock, Order } from '@gateway/oms';
import type { BrokerAccount, CancelResult } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiError } from '../../common/api-error.js';
import { LOGGER } from '../../common/logger.js';
import { AccountBrokers } from '../../market/account-brokers.js';
import { CLOCK } from '../../market/market.tokens.js';
import { BrokerOrderRate } from '../../rate-limit/broker-order-rate.js';
import type { OrderCancels } from '../../risk/order-cancels.port.js';
import type { MessageInitiator } from '../../risk/order-messages.js';
import { OrderLedger } from '../order-ledger.js';
import { type OrderDto, toOrderDto } from '../order.mapper.js';
import { OrderQueries } from '../order-queries.service.js';
import { OrderRepository } from '../persistence/order.repository.js';
import { BrokerCall } from './broker-call.js';
import { OrderIntake } from './order-intake.js';

/** How a cancel was asked for. */
export interface CancelOrderOptions {
  /** Only send a cancel held on the order (`cancelRequestedAt` set): the held cancel, sent on the ack. */
  readonly onlyIfRequested?: boolean;
  /** Who sends it: the trader's cancels count toward the message rate, the gateway's own do not. */
  readonly initiator?: MessageInitiator;
}

/**
 * Cancels an order (FIX OrderCancelRequest; `202` with the order). A working order goes
 * `pending_cancel` and the cancel is sent at once (the answer may already show it `canceled`). An order
 * the broker has not acknowledged yet (`pending_new`, `unknown`) keeps its status with
 * `cancelRequestedAt` set: the cancel is sent as soon as the broker shows it working (SendHeldCancel),
 * never before (there is no broker order to cancel yet). A second cancel answers the current state.
 * `422 order.not_cancelable` when the order is done, a replace is pending, or the broker refuses the
 * cancel (the order then stays as it was, with a `restated` event); `404 order.not_found`,
 * `404 account.not_found`. The kill switch cancels through it (the ORDER_CANCELS port).
 */
@Injectable()
export class CancelOrderHandler implements OrderCancels {
  constructor(
    private readonly ledger: OrderLedger,
    private readonly orders: OrderRepository,
    private readonly queries: OrderQueries,
    private readonly intake: OrderIntake,
    private readonly brokerCall: BrokerCall,
    private readonly brokers: AccountBrokers,
    private readonly brokerRate: BrokerOrderRate,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The OrderCancels port: the same command. */
  cancel(accountId: string, orderId: string, options: CancelOrderOptions = {}): Promise<OrderDto> {
    return this.execute(accountId, orderId, options);
  }

  async execute(accountId: string, orderId: string, options: CancelOrderOptions = {}): Promise<OrderDto> {
    const seen: { account?: BrokerAccount } = {};
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      // The account's client before anything changes: a broker without a client here refuses (503) as is.
      await this.brokers.clientFor(tx.account);
      seen.account = tx.account;
      const order = await this.orders.find(tx, orderId);
      if (!order) {
        throw ApiError.orderNotFound(orderId);
      }
      const now = this.clock.now();
      if (options.onlyIfRequested && order.cancelRequestedAt === null) {
        return { order, send: false }; // already sent (or refused) by another instance or an earlier pass
      }
      switch (order.status) {
        case 'pending_cancel':
          return { order, send: false };
        case 'pending_new':
        case 'unknown': {
          // Held on the order (no event) until the broker shows it working: see applyOrderEvent.
          const held = await tx.applyEvent(order, { kind: 'cancel_requested', at: now });
          return { order: held ?? order, send: false };
        }
        case 'new':
        case 'partially_filled': {
          const pending = await tx.applyEvent(order, { kind: 'cancel_requested', at: now });
          await this.intake.countMessage(tx, order, 'cancellation', undefined, options.initiator);
          return { order: pending ?? order, send: true };
        }
        case 'pending_replace':
        case 'filled':
        case 'canceled':
        case 'replaced':
        case 'rejected':
        case 'denied':
        case 'expired':
          throw this.notCancelable(
            order,
            order.status === 'pending_replace'
              ? 'A replace of the order is pending; retry once it is settled.'
              : `The order is ${order.status}.`,
          );
      }
    });
    if (!step) {
      throw ApiError.accountNotFound(accountId);
    }
    const { order, send } = step.result;
    if (!send || order.brokerOrderId === null) {
      return toOrderDto(order);
    }
    const brokerOrderId = order.brokerOrderId;
    const broker = await this.brokers.clientFor(seen.account!);
    await this.brokerRate.count(seen.account!.broker);
    const result = await this.brokerCall.withTimeout<CancelResult>('cancel', broker.venue, (signal) =>
      broker.cancelOrder({ clientOrderId: order.id, brokerOrderId }, signal),
    );
    if (result.kind === 'rejected') {
      const after = await this.brokerCall.recordInAccount(accountId, order.id, async (tx, current) => {
        if (current.status === 'pending_cancel') {
          await tx.applyEvent(
            current,
            { kind: 'cancel_rejected', at: this.clock.now() },
            { brokerPayload: result.raw },
          );
        }
      });
      throw this.notCancelable(after ?? order, `The broker refused the cancel: ${result.reason}.`);
    }
    if (result.kind === 'unknown') {
      // Stays pending_cancel: the broker's reports or reconciliation settle it.
      this.logger.warn({ orderId: order.id, reason: result.reason }, 'cancel outcome unknown');
    }
    return this.queries.get(accountId, order.id);
  }

  private notCancelable(order: Order, detail: string): ApiError {
    return new ApiError(422, 'order.not_cancelable', 'Order not cancelable', detail, {
      orderId: order.id,
      orderStatus: order.status,
    });
  }
}
