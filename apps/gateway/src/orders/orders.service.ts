import { type Clock, Decimal, type Order, priceFieldsFor, type RejectReason, toDecimalString } from '@gateway/oms';
import {
  type CancelResult,
  type ExecutionClient,
  type ReplaceResult,
  type SubmitOrderCommand,
  type SubmitResult,
} from '@gateway/brokers';
import type { RiskDecision } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import type { Account } from '../accounts/account.js';
import { CLOCK, EXECUTION_CLIENT } from '../market/market.tokens.js';
import { GatewayMetrics } from '../health/metrics.js';
import { type MessageInitiator, OrderMessages, type OrderMessageKind } from '../risk/order-messages.js';
import { type PreTradeResult, PreTradeRisk } from '../risk/pre-trade-risk.js';
import { RiskLimitsService } from '../risk/risk-limits.service.js';
import { type AccountTransaction, OrderLedger } from './order-ledger.js';
import { type OrderDto, toOrderDto } from './order.mapper.js';
import { type IdempotencyRecord, IdempotencyKeyRepository } from './persistence/idempotency-key.repository.js';
import { OrderRepository } from './persistence/order.repository.js';
import { type PlaceOrderRequest, requestHash } from './place-order.request.js';
import { type ReplaceOrderRequest, replaceRequestHash } from './replace-order.request.js';

/** An idempotency record still `in_progress` after this long belongs to a request that died. */
const IN_PROGRESS_STALE_MS = 60_000;

export type PlaceOrderOutcome = { kind: 'created'; order: OrderDto } | { kind: 'replayed'; order: OrderDto };

/**
 * The order path of ARCHITECTURE.md: validate → one transaction under the account lock (idempotency,
 * risk, insert `pending_new` + event) → commit → submit with a bounded timeout → record the broker's
 * answer in a second transaction → publish. Nothing reaches a broker before the first commit, and an
 * order whose submission outcome is not known becomes `unknown` and is never resubmitted.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly ledger: OrderLedger,
    private readonly orders: OrderRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly preTrade: PreTradeRisk,
    private readonly riskLimits: RiskLimitsService,
    private readonly messages: OrderMessages,
    @Inject(EXECUTION_CLIENT) private readonly broker: ExecutionClient,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  async place(account: Account, request: PlaceOrderRequest): Promise<PlaceOrderOutcome> {
    const hash = requestHash(request);
    const outcome = await this.intake(account, request.clientOrderId, hash, async (tx) => {
      const check = await this.preTrade.check(tx, request, null);
      return { order: await this.recordIntent(tx, request, check, hash, 'order'), decision: check.decision };
    });
    if (outcome.kind !== 'new') {
      return outcome;
    }
    this.logger.info(
      { orderId: outcome.order.id, accountId: account.id, environment: account.environment, symbol: request.symbol },
      'order accepted for submission',
    );
    const order = await this.submit(outcome.order);
    return { kind: 'created', order: toOrderDto(order) };
  }

  /**
   * Replaces a working order (API.md `PATCH`; FIX OrderCancelReplaceRequest). Under the account lock:
   * idempotency by the replacement's `clientOrderId`; the order must be `new` or `partially_filled`
   * with no cancel pending (`422 order.not_replaceable` otherwise: nothing is modified while a cancel or
   * replace is pending); the new total must exceed the confirmed filled quantity; the replacement is
   * risk-checked like a new order for the quantity it would work (new total minus filled). It is
   * inserted `pending_new` with `replacesOrderId`, the old order goes `pending_replace` with
   * `replacedByOrderId`, and only after the commit is the replace sent, once. The broker's answer:
   * accepted → old `replaced`, replacement `new` (for the quantity the broker booked); rejected →
   * replacement `rejected`, old back to working (or left `filled` when it filled meanwhile); unknown →
   * replacement `unknown`, old stays `pending_replace`, both settled by reconciliation.
   * A replacement carries no `ttlMs`: a deadline belongs to the order it was set on.
   */
  async replace(account: Account, orderId: string, request: ReplaceOrderRequest): Promise<PlaceOrderOutcome> {
    const hash = replaceRequestHash(orderId, request);
    const outcome = await this.intake(account, request.clientOrderId, hash, async (tx) => {
      const old = await this.orders.find(tx, orderId);
      if (!old) {
        throw ApiError.orderNotFound(orderId);
      }
      const change = this.replacementOf(old, request);
      const check = await this.preTrade.check(tx, change, old.id);
      const replacement = await this.recordIntent(tx, change, check, hash, 'modification', old.id);
      if (check.decision.kind === 'approved') {
        await tx.applyEvent(old, {
          kind: 'replace_requested',
          at: this.clock.now(),
          replacedByOrderId: replacement.id,
        });
      }
      return { order: replacement, decision: check.decision, old, total: change.total };
    });
    if (outcome.kind !== 'new') {
      return outcome;
    }
    this.logger.info(
      { orderId: outcome.order.id, replacesOrderId: outcome.old.id, accountId: account.id },
      'replace accepted for submission',
    );
    const order = await this.sendReplace(outcome.old, outcome.order, outcome.total);
    return { kind: 'created', order: toOrderDto(order) };
  }

  /**
   * The first step of a place or a replace, under the account lock: a `clientOrderId` already used
   * answers from its idempotency record (200 with the same order, 409 while it runs, 422 for another
   * body); otherwise `work` records the new intent. After the commit the events are published, and a
   * denial is thrown (`422 risk.*`, the denied order kept). What is left is an order to send.
   */
  private async intake<T extends { order: Order; decision: RiskDecision }>(
    account: Account,
    clientOrderId: string,
    hash: string,
    work: (tx: AccountTransaction) => Promise<T>,
  ): Promise<PlaceOrderOutcome | ({ kind: 'new' } & T)> {
    const intent = await this.ledger.inAccount(account.id, async (tx) => {
      const existing = await this.idempotencyKeys.find(tx, clientOrderId);
      return existing ? { kind: 'existing' as const, record: existing } : { kind: 'new' as const, ...(await work(tx)) };
    });
    if (!intent) {
      throw ApiError.accountNotFound(account.id);
    }
    const outcome = intent.result;
    if (outcome.kind === 'existing') {
      return this.replay(account, outcome.record, hash);
    }
    if (outcome.decision.kind === 'denied') {
      throw this.denial(outcome.order, { code: outcome.decision.code, message: outcome.decision.reason });
    }
    return outcome;
  }

  /** Records a checked intent: the order (`pending_new` or `denied`), its idempotency key, its message. */
  private async recordIntent(
    tx: AccountTransaction,
    request: PlaceOrderRequest,
    check: PreTradeResult,
    hash: string,
    kind: 'order' | 'modification',
    replacesOrderId: string | null = null,
  ): Promise<Order> {
    const order = await this.insertIntent(tx, request, check, replacesOrderId);
    await this.idempotencyKeys.insert(tx, {
      clientOrderId: order.clientOrderId,
      requestHash: hash,
      orderId: order.id,
      state: order.status === 'pending_new' ? 'in_progress' : 'completed',
      createdAt: this.clock.now(),
    });
    await this.countMessage(tx, order, kind, check);
    return order;
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

  /** Sends a committed replace once, and records the broker's answer on both orders. */
  private async sendReplace(old: Order, replacement: Order, total: Decimal): Promise<Order> {
    const brokerOrderId = old.brokerOrderId ?? '';
    const result = await this.withTimeout<ReplaceResult>((signal) =>
      this.broker.replaceOrder(
        {
          clientOrderId: old.id,
          brokerOrderId,
          newClientOrderId: replacement.id,
          quantity: total,
          limitPrice: replacement.limitPrice,
          stopPrice: replacement.stopPrice,
        },
        signal,
      ),
    );
    const recorded = await this.recordInAccount(replacement.accountId, replacement.id, async (tx, current) => {
      const now = this.clock.now();
      const before = await this.orders.find(tx, old.id);
      if (result.kind === 'accepted' && before?.status === 'pending_replace') {
        await tx.applyEvent(before, { kind: 'replaced', at: now }, { brokerPayload: result.raw });
      }
      await this.recordAnswer(tx, current, result, now);
      if (result.kind === 'rejected' && (before?.status === 'pending_replace' || before?.status === 'filled')) {
        await tx.applyEvent(before, { kind: 'replace_rejected', at: now }, { brokerPayload: result.raw });
      }
    });
    return recorded ?? replacement;
  }

  /** Orders are visible only through their account; callers check the account first. */
  async get(accountId: string, orderId: string): Promise<Order> {
    const result = await this.orders.findCommitted(accountId, orderId);
    if (!result) {
      throw ApiError.orderNotFound(orderId);
    }
    return result;
  }

  /**
   * Cancels an order (`202` with the order). A working order goes `pending_cancel` and the cancel is
   * sent at once (the answer may already show it `canceled`). An order the broker has not acknowledged
   * yet (`pending_new`, `unknown`) keeps its status with `cancelRequestedAt` set: the cancel is sent as
   * soon as the broker shows it working, never before (there is no broker order to cancel yet). A second
   * cancel answers the current state. `422 order.not_cancelable` when the order is done, a replace is
   * pending, or the broker refuses the cancel (the order then stays as it was, with a `restated` event).
   */
  async cancel(
    accountId: string,
    orderId: string,
    options: { onlyIfRequested?: boolean; initiator?: MessageInitiator } = {},
  ): Promise<OrderDto> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
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
          await this.countMessage(tx, order, 'cancellation', undefined, options.initiator);
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
    const result = await this.withTimeout<CancelResult>((signal) =>
      this.broker.cancelOrder({ clientOrderId: order.id, brokerOrderId }, signal),
    );
    if (result.kind === 'rejected') {
      const after = await this.recordInAccount(accountId, order.id, async (tx, current) => {
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
      // Stays pending_cancel: the venue's reports or reconciliation settle it.
      this.logger.warn({ orderId: order.id, reason: result.reason }, 'cancel outcome unknown');
    }
    return toOrderDto(await this.get(accountId, order.id));
  }

  private notCancelable(order: Order, detail: string): ApiError {
    return new ApiError(422, 'order.not_cancelable', 'Order not cancelable', detail, {
      orderId: order.id,
      orderStatus: order.status,
    });
  }

  /** Cancels every working order of the account; answers each order's state after its cancel. */
  async cancelAll(accountId: string): Promise<OrderDto[]> {
    const open = await this.orders.openIds(accountId);
    const results: OrderDto[] = [];
    for (const id of open) {
      try {
        results.push(await this.cancel(accountId, id));
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'order.not_cancelable') {
          throw error;
        }
        results.push(toOrderDto(await this.get(accountId, id)));
      }
    }
    return results;
  }

  private alertUnknown(order: Order, reason: string): void {
    this.logger.error(
      { orderId: order.id, accountId: order.accountId, reason, alert: 'order_unknown' },
      'submission outcome unknown: order is unknown until reconciliation settles it',
    );
    this.metrics.unknownOrders.inc({ venue: this.broker.venue, environment: order.environment });
  }

  /**
   * Records a message to the broker (an accepted order or replace, a cancel being sent); the trader's
   * count toward the message rate and the order-to-trade ratio, and move the account to `reducing` when
   * the ratio reaches its ceiling. A denied order is never sent and counts nothing.
   */
  private async countMessage(
    tx: AccountTransaction,
    order: Order,
    kind: OrderMessageKind,
    check?: PreTradeResult,
    initiator: MessageInitiator = 'trader',
  ): Promise<void> {
    if (check?.decision.kind === 'denied') {
      return;
    }
    const now = this.clock.now();
    await this.messages.record(tx, order.id, kind, now, initiator);
    if (initiator !== 'trader') {
      return;
    }
    const limits = check?.limits ?? (await this.riskLimits.effective(tx.account.id, tx)).limits;
    await this.messages.enforceCeiling(tx, limits, now);
  }

  private async insertIntent(
    tx: AccountTransaction,
    request: PlaceOrderRequest,
    check: PreTradeResult,
    replacesOrderId: string | null = null,
  ): Promise<Order> {
    const now = this.clock.now();
    const decision = check.decision;
    const denied = decision.kind === 'denied';
    return tx.insertOrder(
      {
        id: uuidv7(),
        clientOrderId: request.clientOrderId,
        accountId: tx.account.id,
        environment: tx.account.environment,
        symbol: request.symbol,
        side: request.side,
        type: request.type,
        timeInForce: request.timeInForce,
        positionEffect: request.positionEffect,
        quantity: request.quantity,
        limitPrice: request.limitPrice,
        stopPrice: request.stopPrice,
        status: denied ? 'denied' : 'pending_new',
        filledQuantity: new Decimal(0),
        averageFillPrice: null,
        filledNotional: new Decimal(0),
        brokerOrderId: null,
        rejectReason: denied ? { code: decision.code, message: decision.reason } : null,
        replacesOrderId,
        replacedByOrderId: null,
        ttlMs: request.ttlMs,
        cancelRequestedAt: null,
        createdAt: now,
        updatedAt: now,
      },
      denied ? 'denied' : 'pending_new',
      this.broker.venue,
      denied ? null : check.tradingState,
    );
  }

  /** Submits a committed `pending_new` order once, and records the broker's answer. */
  private async submit(order: Order): Promise<Order> {
    const command: SubmitOrderCommand = {
      clientOrderId: order.id,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      quantity: order.quantity,
      limitPrice: order.limitPrice,
      stopPrice: order.stopPrice,
    };
    const stopTimer = this.metrics.submitLatency.startTimer({ venue: this.broker.venue });
    const result = await this.withTimeout<SubmitResult>((signal) => this.broker.submitOrder(command, signal));
    stopTimer({ outcome: result.kind });
    const recorded = await this.recordInAccount(order.accountId, order.id, (tx, current) =>
      this.recordAnswer(tx, current, result, this.clock.now()),
    );
    return recorded ?? order;
  }

  /**
   * Records the broker's answer to a submit (or, for a replacement, to its replace) on the new order:
   * accepted → `new` with the broker's id (and a replacement's booked quantity), unless a report got
   * there first; rejected → `rejected`; unknown → `unknown` with an alert. Completes its idempotency key.
   */
  private async recordAnswer(
    tx: AccountTransaction,
    current: Order,
    result: SubmitResult | ReplaceResult,
    now: number,
  ): Promise<void> {
    switch (result.kind) {
      case 'accepted':
        if (current.brokerOrderId === null || current.status === 'pending_new' || current.status === 'unknown') {
          await tx.applyEvent(
            current,
            {
              kind: 'accepted',
              at: now,
              brokerOrderId: result.brokerOrderId,
              bookedQuantity: 'quantity' in result ? result.quantity : undefined,
            },
            { brokerPayload: result.raw },
          );
        }
        break;
      case 'rejected':
        await tx.applyEvent(
          current,
          { kind: 'rejected', at: now, reason: { code: 'broker.rejected', message: result.reason } },
          { brokerPayload: result.raw },
        );
        break;
      case 'unknown':
        if (current.status === 'pending_new') {
          this.alertUnknown(current, result.reason);
          await tx.applyEvent(current, { kind: 'submitted_unknown', at: now });
        }
        break;
    }
    await this.idempotencyKeys.complete(tx, current, now);
  }

  /** Runs `work` on the current state of an order under its account lock, publishes, returns the order after. */
  private async recordInAccount(
    accountId: string,
    orderId: string,
    work: (tx: AccountTransaction, order: Order) => Promise<void>,
  ): Promise<Order | null> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const current = await this.orders.find(tx, orderId);
      if (!current) {
        return null;
      }
      await work(tx, current);
      return this.orders.find(tx, orderId);
    });
    return step?.result ?? null;
  }

  /** Calls the broker with a bounded time; a timeout or a thrown error is an `unknown` outcome. */
  private async withTimeout<T extends { kind: string }>(
    call: (signal: AbortSignal) => Promise<T>,
  ): Promise<T | { kind: 'unknown'; reason: string }> {
    const controller = new AbortController();
    const ms = this.config.brokerSubmitTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ kind: 'unknown'; reason: string }>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ kind: 'unknown', reason: `no answer from the broker within ${ms} ms` });
      }, ms);
    });
    try {
      return await Promise.race([
        call(controller.signal).catch((error: unknown) => ({
          kind: 'unknown' as const,
          reason: `broker call failed: ${error instanceof Error ? error.message : String(error)}`,
        })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async replay(account: Account, record: IdempotencyRecord, hash: string): Promise<PlaceOrderOutcome> {
    if (record.requestHash !== hash) {
      throw new ApiError(
        422,
        'idempotency.key_reused',
        'Client order id reused',
        `clientOrderId ${record.clientOrderId} was already used for a different order.`,
        { orderId: record.orderId },
      );
    }
    const fresh = this.clock.now() - record.createdAt < IN_PROGRESS_STALE_MS;
    if (record.state === 'in_progress' && fresh) {
      throw new ApiError(
        409,
        'idempotency.in_progress',
        'Request in progress',
        `The first request with clientOrderId ${record.clientOrderId} is still being submitted; retry shortly.`,
        { orderId: record.orderId },
      );
    }
    const order = await this.get(account.id, record.orderId);
    if (order.status === 'denied' && order.rejectReason) {
      throw this.denial(order, order.rejectReason);
    }
    return { kind: 'replayed', order: toOrderDto(order) };
  }

  /** `422` with the risk check's code (`risk.*`) and the denied order. */
  private denial(order: Order, reason: RejectReason): ApiError {
    return new ApiError(422, reason.code, 'Order denied by risk check', reason.message, {
      orderId: order.id,
      order: toOrderDto(order),
    });
  }
}
