import type { Clock, Order } from '@gateway/oms';
import type { MarketDataFeed, SubmitOrderCommand, SubmitResult } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { auditInTransaction, auditReads, type RequestAudit } from '../../audit/request-audit.js';
import { LOGGER } from '../../common/logger.js';
import type { Account } from '../../accounts/account.js';
import { GatewayMetrics } from '../../health/metrics.js';
import { stageStart } from '../../health/stage-clock.js';
import { rememberOrderTrace } from '../../health/tracing.js';
import { AccountBrokers } from '../../market/account-brokers.js';
import { CLOCK, MARKET_DATA } from '../../market/market.tokens.js';
import { toOrderDto } from '../order.mapper.js';
import { type PlaceOrderRequest, requestHash } from '../place-order.request.js';
import { BrokerCall } from './broker-call.js';
import { OrderIntake, type PlaceOrderOutcome } from './order-intake.js';
import { validatePlaceOrder } from './place-order.validation.js';

/**
 * Places an order (FIX NewOrderSingle), the order path of ARCHITECTURE.md: validate → one transaction
 * under the account lock (idempotency, risk, insert `pending_new` + event) → commit → submit with a
 * bounded timeout → record the broker's answer in a second transaction → publish. Nothing reaches a
 * broker before the first commit, and an order whose submission outcome is not known becomes `unknown`
 * and is never resubmitted.
 */
@Injectable()
export class PlaceOrderHandler {
  constructor(
    private readonly intake: OrderIntake,
    private readonly brokerCall: BrokerCall,
    private readonly brokers: AccountBrokers,
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * `created` with the order after the broker's answer (`new`, `rejected`, `unknown`, or already filled);
   * `replayed` with the original order for a retry of the same request. Throws `422 validation.failed`
   * (symbol, whole contracts), `422 risk.*` for a denial (with `orderId`), `422 idempotency.key_reused`,
   * `409 idempotency.in_progress` while the first request runs. `audit`: the request's audit entry,
   * written in the transaction recording the broker's answer when the order is created (else after the
   * answer, by the recorder).
   */
  async execute(account: Account, given: PlaceOrderRequest, audit?: RequestAudit | null): Promise<PlaceOrderOutcome> {
    const validating = stageStart();
    const request = validatePlaceOrder(given, this.market.symbols());
    const hash = requestHash(request);
    this.metrics.observeStage('validation', validating);
    const outcome = await this.intake.admit(
      account,
      request.clientOrderId,
      hash,
      (tx) => this.intake.checkAndRecord(tx, request, hash, 'order'),
      await this.intake.prepareCheck(account, request.symbol),
    );
    // gateway_orders_total: a replay records no event, so a retry is counted here (`replayed`, or `denied`
    // again for a retry of a denied order); new orders and new denials on their events (CountPlacedOrders).
    if (outcome.kind === 'replayed' || (outcome.kind === 'denied' && outcome.replayed)) {
      this.metrics.ordersPlaced.inc({ outcome: outcome.kind, environment: account.environment });
    }
    if (outcome.kind === 'denied') {
      throw outcome.problem;
    }
    if (outcome.kind !== 'new') {
      return outcome;
    }
    rememberOrderTrace(outcome.order.id);
    this.logger.info(
      { orderId: outcome.order.id, accountId: account.id, environment: account.environment, symbol: request.symbol },
      'order accepted for submission',
    );
    const order = await this.submit(account, outcome.order, audit ?? null);
    return { kind: 'created', order: toOrderDto(order) };
  }

  /** Submits a committed `pending_new` order once, to the account's broker, and records its answer. */
  private async submit(account: Account, order: Order, audit: RequestAudit | null): Promise<Order> {
    const broker = await this.brokers.clientFor(account);
    const command: SubmitOrderCommand = {
      clientOrderId: order.id,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      quantity: order.quantity,
      limitPrice: order.limitPrice,
      stopPrice: order.stopPrice,
      positionEffect: order.positionEffect,
    };
    const answer = this.brokerCall.expectAnswer(order.id);
    let recorded: Order | null = null;
    try {
      const stopTimer = this.metrics.submitLatency.startTimer({ venue: broker.venue });
      const result = await this.brokerCall.withTimeout<SubmitResult>('submit', broker.venue, (signal) =>
        broker.submitOrder(command, signal),
      );
      stopTimer({ outcome: result.kind });
      let audited: () => void = () => undefined;
      recorded = await this.brokerCall.recordInAccount(
        order.accountId,
        order.id,
        async (tx, current) => {
          await this.brokerCall.recordAnswer(tx, current, result, this.clock.now());
          // The request's audit entry (answered 201 with the created order) joins the answer's commit.
          audited = await auditInTransaction(tx, audit, 201);
        },
        auditReads(audit, 201),
      );
      audited();
    } finally {
      answer.settle(recorded);
    }
    return recorded ?? order;
  }
}
