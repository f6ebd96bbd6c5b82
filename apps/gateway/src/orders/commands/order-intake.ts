import { type Clock, Decimal, type Order, type RejectReason } from '@gateway/oms';
import type { RiskDecision } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { ApiError } from '../../common/api-error.js';
import type { Account } from '../../accounts/account.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.js';
import { GatewayMetrics } from '../../health/metrics.js';
import { stageStart } from '../../health/stage-clock.js';
import { AccountBrokers } from '../../market/account-brokers.js';
import { CLOCK } from '../../market/market.tokens.js';
import { type MessageInitiator, OrderMessages, type OrderMessageKind } from '../../risk/order-messages.js';
import { type PreTradeResult, PreTradeRisk } from '../../risk/pre-trade-risk.js';
import { RiskLimitsService } from '../../risk/risk-limits.service.js';
import { type AccountTransaction, OrderLedger } from '../order-ledger.js';
import type { LockedRead } from '../../persistence/locked-reads.js';
import { type OrderDto, toOrderDto } from '../order.mapper.js';
import { type IdempotencyRecord, IdempotencyKeyRepository } from '../persistence/idempotency-key.repository.js';
import { OrderRepository } from '../persistence/order.repository.js';
import type { PlaceOrderRequest } from '../place-order.request.js';

/** An idempotency record still `in_progress` after this long belongs to a request that died. */
const IN_PROGRESS_STALE_MS = 60_000;

/** What a place or a replace answers: `created` (201/202) or `replayed` (200, a retry of the same request). */
export type PlaceOrderOutcome = { kind: 'created'; order: OrderDto } | { kind: 'replayed'; order: OrderDto };

/** A denial by the risk check (`replayed`: answered again for a retry), with the `422 risk.*` problem to throw. */
export interface IntakeDenial {
  readonly kind: 'denied';
  readonly replayed: boolean;
  readonly problem: ApiError;
}

/** What the intake step leaves: an answer (a replay, a denial) or, `new`, a committed intent to send. */
export type IntakeOutcome<T> = PlaceOrderOutcome | IntakeDenial | ({ kind: 'new' } & T);

/** An intent recorded by `checkAndRecord`: the new order (`pending_new` or `denied`) and the risk decision. */
export interface RecordedIntent {
  readonly order: Order;
  readonly decision: RiskDecision;
}

/**
 * The intake step shared by the commands that make an order (place, replace): one transaction under the
 * account lock in which a `clientOrderId` already used answers from its idempotency record, or the new
 * intent is risk-checked and recorded; after the commit a denial is thrown. Nothing reaches a broker
 * before this step has committed.
 */
@Injectable()
export class OrderIntake {
  /** How long after its intent a submission's broker call is over, wherever it runs (the timeout and a grace). */
  private readonly callOverMs: number;

  constructor(
    private readonly ledger: OrderLedger,
    private readonly orders: OrderRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly preTrade: PreTradeRisk,
    private readonly riskLimits: RiskLimitsService,
    private readonly messages: OrderMessages,
    private readonly brokers: AccountBrokers,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.callOverMs = config.brokerSubmitTimeoutMs + 1_000;
  }

  /**
   * Under the account lock: a `clientOrderId` already used answers from its idempotency record (200 with
   * the same order, `409 idempotency.in_progress` while it runs, `422 idempotency.key_reused` for another
   * body); otherwise `work` records the new intent (`checkAndRecord`). A denial, new or replayed, comes
   * back as `denied` with its problem (`422 risk.*`, the denied order kept) for the command to throw;
   * `404 account.not_found` without the account; `503 service.unavailable` when the account's broker
   * has no client here (not configured, or it cannot be built), before anything is recorded. What is left
   * is an order to send. `reads`: what `work` reads, to send with the lock (`checkReads`, LockedRead).
   */
  async admit<T extends RecordedIntent>(
    account: Account,
    clientOrderId: string,
    hash: string,
    work: (tx: AccountTransaction) => Promise<T>,
    reads: readonly LockedRead[] = [],
  ): Promise<IntakeOutcome<T>> {
    await this.brokers.clientFor(account); // built (and cached) outside the transaction, or refused
    const intent = await this.ledger.inAccount(
      account.id,
      async (tx) => {
        const existing = await this.idempotencyKeys.find(tx, clientOrderId);
        return existing
          ? { kind: 'existing' as const, record: existing }
          : { kind: 'new' as const, ...(await work(tx)) };
      },
      { stage: 'intent' },
      [this.idempotencyKeys.findRead(account.id, clientOrderId), ...reads],
    );
    if (!intent) {
      throw ApiError.accountNotFound(account.id);
    }
    const outcome = intent.result;
    if (outcome.kind === 'existing') {
      return this.replay(account, outcome.record, hash);
    }
    if (outcome.decision.kind === 'denied') {
      const reason = { code: outcome.decision.code, message: outcome.decision.reason };
      return { kind: 'denied', replayed: false, problem: this.denial(outcome.order, reason) };
    }
    return outcome;
  }

  /**
   * Before the lock, for `checkAndRecord` of an order in `symbol`: waits for the account broker's first
   * quote of it when its feed has none yet (PreTradeRisk.awaitQuote), and answers what the check reads,
   * to send with the account's lock (`admit`'s `reads`).
   */
  async prepareCheck(account: Account, symbol: string, replacesOrderId: string | null = null): Promise<LockedRead[]> {
    await this.preTrade.awaitQuote(account, symbol);
    return this.preTrade.lockedReads(account.id, symbol, replacesOrderId);
  }

  /**
   * Risk-checks `request` (`replacesOrderId`: the order a replacement replaces, whose open quantity it
   * takes over) and records the intent: the order (`pending_new` or `denied`), its idempotency key, its
   * message.
   */
  async checkAndRecord(
    tx: AccountTransaction,
    request: PlaceOrderRequest,
    hash: string,
    kind: 'order' | 'modification',
    replacesOrderId: string | null = null,
  ): Promise<RecordedIntent> {
    const checking = stageStart();
    const check = await this.preTrade.check(tx, request, replacesOrderId);
    this.metrics.observeStage('risk_checks', checking);
    const order = await this.insertIntent(tx, request, check, replacesOrderId);
    await this.idempotencyKeys.insert(tx, {
      clientOrderId: order.clientOrderId,
      requestHash: hash,
      orderId: order.id,
      state: order.status === 'pending_new' ? 'in_progress' : 'completed',
      createdAt: this.clock.now(),
    });
    await this.countMessage(tx, order, kind, check);
    return { order, decision: check.decision };
  }

  /**
   * Records a message to the broker (an accepted order or replace, a cancel being sent); the trader's
   * count toward the message rate and the order-to-trade ratio, and move the account to `reducing` when
   * the ratio reaches its ceiling. A denied order is never sent and counts nothing.
   */
  async countMessage(
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
    replacesOrderId: string | null,
  ): Promise<Order> {
    const venue = (await this.brokers.clientFor(tx.account)).venue;
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
      venue,
      denied ? null : check.tradingState,
      check.intentMid?.toFixed() ?? null,
    );
  }

  private async replay(
    account: Account,
    record: IdempotencyRecord,
    hash: string,
  ): Promise<PlaceOrderOutcome | IntakeDenial> {
    if (record.requestHash !== hash) {
      throw new ApiError(
        422,
        'idempotency.key_reused',
        'Client order id reused',
        `clientOrderId ${record.clientOrderId} was already used for a different order.`,
        { orderId: record.orderId },
      );
    }
    const age = this.clock.now() - record.createdAt;
    const order = await this.orders.findCommitted(account.id, record.orderId);
    // Running: in progress and fresh, unless the broker already settled the order (its report) and the broker
    // call is over wherever it ran: then the request holding the key died between the two (a crash) or is
    // only recording its answer, and the order as it is now is the answer.
    const settled = order !== null && order.status !== 'pending_new' && age >= this.callOverMs;
    if (record.state === 'in_progress' && age < IN_PROGRESS_STALE_MS && !settled) {
      throw new ApiError(
        409,
        'idempotency.in_progress',
        'Request in progress',
        `The first request with clientOrderId ${record.clientOrderId} is still being submitted; retry shortly.`,
        { orderId: record.orderId },
      );
    }
    if (!order) {
      throw ApiError.orderNotFound(record.orderId);
    }
    if (order.status === 'denied' && order.rejectReason) {
      return { kind: 'denied', replayed: true, problem: this.denial(order, order.rejectReason) };
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
