import type { Clock, Order } from '@gateway/oms';
import type { ReplaceResult, SubmitResult } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.js';
import { BrokerRoundTrips } from '../../health/broker-round-trips.js';
import { type BrokerCommandKind, GatewayMetrics } from '../../health/metrics.js';
import { stageStart } from '../../health/stage-clock.js';
import { AccountBrokers } from '../../market/account-brokers.js';
import { CLOCK } from '../../market/market.tokens.js';
import { type AccountTransaction, OrderLedger } from '../order-ledger.js';
import type { PendingAnswer } from '../submission-answers.js';
import type { LockedRead } from '../../persistence/locked-reads.js';
import { IdempotencyKeyRepository } from '../persistence/idempotency-key.repository.js';
import { OrderRepository } from '../persistence/order.repository.js';

/** A broker call that gave no answer in time, or failed: its outcome is not known. */
export interface UnknownOutcome {
  readonly kind: 'unknown';
  readonly reason: string;
}

/**
 * The broker-call step shared by the commands: the call to the broker with a bounded time (a timeout or
 * a thrown error is an `unknown` outcome, never a retry), then the recording of its answer in a second
 * transaction under the account lock, on the order as it is then (a report may have got there first).
 */
@Injectable()
export class BrokerCall {
  constructor(
    private readonly ledger: OrderLedger,
    private readonly orders: OrderRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly brokers: AccountBrokers,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
    private readonly roundTrips: BrokerRoundTrips,
  ) {}

  /**
   * Calls the broker with a bounded time (`brokerSubmitTimeoutMs`); a timeout or a thrown error is `unknown`.
   * The round trip (sent → answer, or the timeout) is recorded as `broker_<command>` of `venue`.
   */
  async withTimeout<T extends { kind: string }>(
    command: BrokerCommandKind,
    venue: string,
    call: (signal: AbortSignal) => Promise<T>,
  ): Promise<T | UnknownOutcome> {
    const start = stageStart();
    const controller = new AbortController();
    const ms = this.config.brokerSubmitTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<UnknownOutcome>((resolve) => {
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
      this.roundTrips.record(command, venue, start);
    }
  }

  /**
   * Registers a submission of `orderId` about to be sent from this process, so that the broker's ack of it
   * can wait for its answer in memory (SubmissionAnswers); settle it in every outcome.
   */
  expectAnswer(orderId: string): PendingAnswer {
    return this.ledger.answers.expect(orderId);
  }

  /**
   * Runs `work` on the current state of an order under its account lock (its events are published once
   * committed); returns the order after, or null when the order or its account is gone. The order is read
   * with the lock, in its round trip, with `reads` (what `work` reads before it writes, LockedRead).
   */
  async recordInAccount(
    accountId: string,
    orderId: string,
    work: (tx: AccountTransaction, order: Order) => Promise<void>,
    reads: readonly LockedRead[] = [],
  ): Promise<Order | null> {
    const step = await this.ledger.inAccount(
      accountId,
      async (tx) => {
        const current = await this.orders.find(tx, orderId);
        if (!current) {
          return null;
        }
        await work(tx, current);
        // As this transaction wrote it (every write of an order's fields goes through the ledger), or as read.
        return tx.written.get(orderId) ?? current;
      },
      { stage: 'answer' },
      [this.orders.findRead(accountId, orderId), ...reads],
    );
    return step?.result ?? null;
  }

  /**
   * Records the broker's answer to a submit (or, for a replacement, to its replace) on the new order:
   * accepted → `new` with the broker order id (and a replacement's booked quantity), unless a report got
   * there first; rejected → `rejected`; unknown → `unknown` with an alert. Completes its idempotency key.
   */
  async recordAnswer(
    tx: AccountTransaction,
    current: Order,
    result: SubmitResult | ReplaceResult | UnknownOutcome,
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
          this.alertUnknown(current, (await this.brokers.clientFor(tx.account)).venue, result.reason);
          await tx.applyEvent(current, { kind: 'submitted_unknown', at: now });
        }
        break;
    }
    await this.idempotencyKeys.complete(tx, current, now);
  }

  private alertUnknown(order: Order, venue: string, reason: string): void {
    this.logger.error(
      { orderId: order.id, accountId: order.accountId, reason, alert: 'order_unknown' },
      'submission outcome unknown: order is unknown until reconciliation settles it',
    );
    this.metrics.unknownOrders.inc({ venue, environment: order.environment });
  }
}
