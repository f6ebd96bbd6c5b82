import { type Clock, Decimal, type Order, priceFieldsFor, toDecimalString } from '@gateway/oms';
import type { ReplaceResult } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiError } from '../../common/api-error.js';
import { LOGGER } from '../../common/logger.js';
import type { Account } from '../../accounts/account.js';
import { AccountBrokers } from '../../market/account-brokers.js';
import { CLOCK } from '../../market/market.tokens.js';
import { toOrderDto } from '../order.mapper.js';
import { OrderRepository } from '../persistence/order.repository.js';
import type { PlaceOrderRequest } from '../place-order.request.js';
import { type ReplaceOrderRequest, replaceRequestHash } from '../replace-order.request.js';
import { BrokerCall } from './broker-call.js';
import { OrderIntake, type PlaceOrderOutcome } from './order-intake.js';

/**
 * Replaces a working order (API.md `PATCH`; FIX OrderCancelReplaceRequest). Under the account lock:
 * idempotency by the replacement's `clientOrderId`; the order must be `new` or `partially_filled`
 * with no cancel pending (`422 order.not_replaceable` otherwise: nothing is modified while a cancel or
 * replace is pending); the new total must exceed the confirmed filled quantity; the replacement is
 * risk-checked like a new order for the quantity it would work (new total minus filled). It is
 * inserted `pending_new` with `replacesOrderId`, the old order goes `pending_replace` with
 * `replacedByOrderId`, and only after the commit is the replace sent, once. The broker's answer:
 * accepted → old `replaced`, replacement `new` (for the quantity the venue booked); rejected →
 * replacement `rejected`, old back to working (or left `filled` when it filled meanwhile); unknown →
 * replacement `unknown`, old stays `pending_replace`, both settled by reconciliation.
 * A replacement carries no `ttlMs`: a deadline belongs to the order it was set on.
 */
@Injectable()
export class ReplaceOrderHandler {
  constructor(
    private readonly intake: OrderIntake,
    private readonly brokerCall: BrokerCall,
    private readonly orders: OrderRepository,
    private readonly brokers: AccountBrokers,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * `created` with the replacement after the broker's answer, `replayed` with it for a retry with the
   * same `clientOrderId` and body. Throws `404 order.not_found`, `422 order.not_replaceable`,
   * `422 validation.failed` (a price the order type does not take, a replace that changes nothing),
   * `422 risk.*` when the replacement is denied (the old order is left as it was), and the idempotency
   * answers of OrderIntake.
   */
  async execute(account: Account, orderId: string, request: ReplaceOrderRequest): Promise<PlaceOrderOutcome> {
    const hash = replaceRequestHash(orderId, request);
    const outcome = await this.intake.admit(account, request.clientOrderId, hash, async (tx) => {
      const old = await this.orders.find(tx, orderId);
      if (!old) {
        throw ApiError.orderNotFound(orderId);
      }
      const change = this.replacementOf(old, request);
      const recorded = await this.intake.checkAndRecord(tx, change, hash, 'modification', old.id);
      if (recorded.decision.kind === 'approved') {
        await tx.applyEvent(old, {
          kind: 'replace_requested',
          at: this.clock.now(),
          replacedByOrderId: recorded.order.id,
        });
      }
      return { ...recorded, old, total: change.total };
    });
    if (outcome.kind === 'denied') {
      throw outcome.problem;
    }
    if (outcome.kind !== 'new') {
      return outcome;
    }
    this.logger.info(
      { orderId: outcome.order.id, replacesOrderId: outcome.old.id, accountId: account.id },
      'replace accepted for submission',
    );
    const order = await this.sendReplace(account, outcome.old, outcome.order, outcome.total);
    return { kind: 'created', order: toOrderDto(order) };
  }

  /** The replacement's request: the old order with the changes, for the quantity it would work. */
  private replacementOf(old: Order, request: ReplaceOrderRequest): PlaceOrderRequest & { total: Decimal } {
    const notReplaceable = (detail: string) =>
      new ApiError(422, 'order.not_replaceable', 'Order not replaceable', detail, {
        orderId: old.id,
        orderStatus: old.status,
      });
    if (old.status === 'pending_cancel' || old.status === 'pending_replace' || old.cancelRequestedAt !== null) {
      throw notReplaceable(
        'A cancel or replace of the order is pending; nothing more is accepted until it is settled.',
      );
    }
    if (old.status !== 'new' && old.status !== 'partially_filled') {
      throw notReplaceable(
        old.status === 'pending_new' || old.status === 'unknown'
          ? `The order is ${old.status}: the broker has not confirmed it yet.`
          : `The order is ${old.status}.`,
      );
    }
    const wants = priceFieldsFor(old.type);
    const errors = [
      ...(request.limitPrice !== null && !wants.limit
        ? [{ path: 'limitPrice', message: `is not allowed on a ${old.type} order` }]
        : []),
      ...(request.stopPrice !== null && !wants.stop
        ? [{ path: 'stopPrice', message: `is not allowed on a ${old.type} order` }]
        : []),
    ];
    if (errors.length > 0) {
      throw ApiError.validation(errors);
    }
    const total = request.quantity ?? old.quantity;
    if (!total.greaterThan(old.filledQuantity)) {
      throw notReplaceable(
        `The new quantity ${toDecimalString(total)} does not exceed the confirmed filled quantity ${toDecimalString(old.filledQuantity)}.`,
      );
    }
    const limitPrice = request.limitPrice ?? old.limitPrice;
    const stopPrice = request.stopPrice ?? old.stopPrice;
    const same = (a: Decimal | null, b: Decimal | null) => (a === null ? b === null : b !== null && a.equals(b));
    if (total.equals(old.quantity) && same(limitPrice, old.limitPrice) && same(stopPrice, old.stopPrice)) {
      throw ApiError.validation([{ path: 'quantity', message: 'the replace changes nothing' }]);
    }
    return {
      clientOrderId: request.clientOrderId,
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      quantity: total.minus(old.filledQuantity),
      limitPrice,
      stopPrice,
      timeInForce: old.timeInForce,
      positionEffect: old.positionEffect,
      ttlMs: null,
      total,
    };
  }

  /** Sends a committed replace once, to the account's broker, and records its answer on both orders. */
  private async sendReplace(account: Account, old: Order, replacement: Order, total: Decimal): Promise<Order> {
    const broker = await this.brokers.clientFor(account);
    const brokerOrderId = old.brokerOrderId ?? '';
    const result = await this.brokerCall.withTimeout<ReplaceResult>('replace', broker.venue, (signal) =>
      broker.replaceOrder(
        {
          clientOrderId: old.id,
          brokerOrderId,
          newClientOrderId: replacement.id,
          quantity: total,
          filledQuantity: old.filledQuantity,
          limitPrice: replacement.limitPrice,
          stopPrice: replacement.stopPrice,
        },
        signal,
      ),
    );
    const recorded = await this.brokerCall.recordInAccount(
      replacement.accountId,
      replacement.id,
      async (tx, current) => {
        const now = this.clock.now();
        const before = await this.orders.find(tx, old.id);
        if (result.kind === 'accepted' && before?.status === 'pending_replace') {
          await tx.applyEvent(before, { kind: 'replaced', at: now }, { brokerPayload: result.raw });
        }
        await this.brokerCall.recordAnswer(tx, current, result, now);
        if (result.kind === 'rejected' && (before?.status === 'pending_replace' || before?.status === 'filled')) {
          await tx.applyEvent(before, { kind: 'replace_rejected', at: now }, { brokerPayload: result.raw });
        }
      },
    );
    return recorded ?? replacement;
  }
}
