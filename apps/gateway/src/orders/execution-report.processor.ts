import {
  applyFillToPosition,
  applyOrderEvent,
  contractMultiplier,
  type Clock,
  Decimal,
  flatPosition,
  type Order,
  tradingDayOf,
} from '@gateway/oms';
import { type BrokerRegistry, type ExecutionReport } from '@gateway/brokers';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, noJitterGenerator, retry, type RetryPolicy } from 'cockatiel';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { LOGGER } from '../common/logger.js';
import { BROKER_REGISTRY, CLOCK } from '../market/market.tokens.js';
import { GatewayMetrics } from '../health/metrics.js';
import { stageStart, type StageStart } from '../health/stage-clock.js';
import { inOrderTrace } from '../health/tracing.js';
import { type AccountTransaction, OrderLedger } from './order-ledger.js';
import { toExecutionDto } from './order.mapper.js';
import { type ExecutionRecord, ExecutionRepository } from './persistence/execution.repository.js';
import { OrderRepository } from './persistence/order.repository.js';
import { PositionRepository } from './persistence/position.repository.js';

const MAX_RETRY_DELAY_MS = 10_000;
/** About ten minutes of retries (the last ones 10 s apart): a longer outage is left to reconciliation. */
const MAX_ATTEMPTS = 70;
/**
 * How long an ack waits for the answer to its submission from this process (SubmissionAnswers) before it
 * takes the account lock as any report does: long enough for an answer's transaction, short enough that
 * a submit still waiting for the broker holds the reports behind the ack back only briefly.
 */
const ANSWER_WAIT_MS = 250;

/**
 * Errors that retrying cannot cure: the report itself is unusable (a non-positive price, say), or the
 * database refuses its data (SQLSTATE class 22 data exception, 23 integrity violation).
 */
const sqlState = (error: unknown): string => {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : '';
};
/**
 * Statuses in which a replacement's reports say what the venue booked: before the ack, and while it works
 * (also with a cancel or replace of it pending). Not once it is done: a done order's leaves are 0.
 */
const BOOKING_REPORTED_IN: ReadonlySet<Order['status']> = new Set<Order['status']>([
  'pending_new',
  'unknown',
  'new',
  'partially_filled',
  'pending_cancel',
  'pending_replace',
]);

/**
 * The quantity an order works at the venue. A replacement's is what the venue booked, read back from
 * every report of it (FIX OrderQty = CumQty + LeavesQty), never assumed from what was asked: a fill of
 * the old order may have raced the replace, and an early report (Alpaca's replacement before the venue
 * acted, as reconciliation may find it) may carry a quantity the venue then books differently. Other
 * orders, and a replacement that is done: their own quantity.
 */
function bookedQuantity(order: Order, report: ExecutionReport): Decimal {
  const booked = report.cumulativeQuantity.plus(report.leavesQuantity);
  // Also whenever the ack is still to be recorded: a replacement rejected by reconciliation (never seen at
  // the broker in time) whose ack then comes is restated at what the venue booked, not at what was asked.
  const reports = BOOKING_REPORTED_IN.has(order.status) || awaitsAcknowledgement(order);
  return order.replacesOrderId !== null && reports && booked.greaterThan(0) ? booked : order.quantity;
}

/**
 * Whether an ack of an acknowledged replacement restates its booked quantity (`rebooked`): the broker
 * reports it working for another quantity than the gateway has, and one above its filled quantity.
 */
function rebooks(order: Order, report: ExecutionReport): boolean {
  const booked = bookedQuantity(order, report);
  return !booked.equals(order.quantity) && booked.greaterThan(order.filledQuantity);
}

/**
 * Whether the broker's acceptance of an order is still to be recorded: no broker order id yet, or still
 * `pending_new` or `unknown`. Once recorded (by the submit's answer or an earlier ack), an ack changes
 * nothing.
 */
function awaitsAcknowledgement(order: Order): boolean {
  return order.brokerOrderId === null || order.status === 'pending_new' || order.status === 'unknown';
}

/**
 * Whether `report` would change nothing on `committed`, the order as read outside the account lock, nor
 * on any state it can reach, so that it can be dropped without the lock, a transaction or a write.
 *
 * Why that is sound: an order's status and broker order id are written only under the account lock and
 * the read sees committed data, so it sees a state the order really had; it can only be older than the
 * state the locked path would read (a lock holder
 * the read did not wait for: the submit's answer, a cancel, reconciliation, another instance), never
 * newer. Dropping the report is therefore safe only for a condition that, once true, stays true through
 * every transition: the locked path, whatever later state it found, would then do nothing either.
 * - `pending_cancel` is never applied (the gateway sets `pending_cancel` itself when it sends the cancel).
 * - `new` (an ack) on an order that no longer awaits acknowledgement: a broker order id, once recorded,
 *   is never cleared (applyOrderEvent keeps the first), and no transition leads back to `pending_new`
 *   (only an order's first status) or `unknown` (only reached from `pending_new`); so
 *   `awaitsAcknowledgement` stays false, and `apply` records nothing for the ack. Unless it is a
 *   replacement's ack that `rebooks` it on the read: that takes the lock, where the same test decides on
 *   the current order (dropping one that rebooks nothing on a stale read only leaves a quantity that a
 *   later report of the same booking corrects again).
 * Everything else takes the lock: every fill (de-duplicated by its execution id under the lock, then the
 * position), an ack the order still awaits (one racing the submit's answer: whichever commits first
 * records `new`, the other finds it there under the lock; an `unknown` order's ack settles it), and
 * cancels, expiries, rejections and replacements (a status they would find already set can still move
 * on: a late fill takes a canceled order to `filled`, a late ack restates a rejected one). Under the lock
 * the same test on the current order ends the transaction without a commit (an ack that raced the
 * answer and found it recorded).
 */
function changesNothing(committed: Order, report: ExecutionReport): boolean {
  switch (report.execType) {
    case 'pending_cancel':
      return true;
    case 'new':
      return !awaitsAcknowledgement(committed) && !rebooks(committed, report);
    case 'trade':
    case 'canceled':
    case 'expired':
    case 'rejected':
    case 'replaced':
      return false;
  }
}

const isDeterministic = (error: unknown) =>
  error instanceof RangeError || error instanceof TypeError || /^2[23]/.test(sqlState(error));

/**
 * Applies the broker's execution reports to orders, executions and positions, in arrival order, each
 * in one transaction under the account lock; a report that changes nothing (an ack already recorded) is
 * dropped without the lock or a write. Fills are de-duplicated by (venue, broker execution id);
 * a fill that would overfill its order is kept as flagged evidence and raises an alert. A report that
 * cannot be recorded (database down) is retried; the broker keeps the truth for reconciliation.
 */
@Injectable()
export class ExecutionReportProcessor implements OnModuleInit, OnModuleDestroy {
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private stopping = false;
  /** Exponential back-off from 100 ms, capped at MAX_RETRY_DELAY_MS; no retry once shutting down. */
  private readonly retries: RetryPolicy = retry(
    handleWhen((error) => !isDeterministic(error) && !this.stopping),
    {
      maxAttempts: MAX_ATTEMPTS - 1,
      backoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: MAX_RETRY_DELAY_MS,
        generator: noJitterGenerator,
      }),
    },
  );

  constructor(
    private readonly ledger: OrderLedger,
    private readonly orders: OrderRepository,
    private readonly executions: ExecutionRepository,
    private readonly positions: PositionRepository,
    private readonly metrics: GatewayMetrics,
    @Inject(BROKER_REGISTRY) private readonly brokers: BrokerRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.retries.onRetry((failure) => {
      const err = 'error' in failure ? failure.error : undefined;
      this.logger.warn({ err, attempt: failure.attempt - 1 }, 'recording an execution report failed; retrying');
    });
  }

  /** Every broker client's reports, of the clients built now and later (the registry's). */
  onModuleInit(): void {
    this.unsubscribe = this.brokers.onExecutionReport((report) => {
      const received = stageStart();
      this.queue = this.queue.then(() =>
        inOrderTrace(report.clientOrderId, { 'report.exec_type': report.execType, 'gateway.venue': report.venue }, () =>
          this.handleWithRetry(report, received),
        ),
      );
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    this.stopping = true; // a report still retrying is left to reconciliation after the restart
    await this.queue;
  }

  /** Resolves when every report received so far has been recorded (tests and shutdown). */
  drained(): Promise<void> {
    return this.queue;
  }

  private async handleWithRetry(report: ExecutionReport, received: StageStart): Promise<void> {
    try {
      await this.retries.execute(() => this.handle(report, received));
    } catch (error) {
      await this.markForReconciliation(report, error);
    }
  }

  private async markForReconciliation(report: ExecutionReport, error: unknown): Promise<void> {
    this.logger.error(
      { err: error, report: { ...report, raw: undefined }, evidence: report.raw, alert: 'report_not_applied' },
      'execution report cannot be applied; the order is left to reconciliation',
    );
    await this.orders.flagForReconciliation(report.clientOrderId).catch((e: unknown) => {
      this.logger.error({ err: e, clientOrderId: report.clientOrderId }, 'could not mark the order for reconciliation');
    });
  }

  /** `received`: when the report reached the gateway (its `report_applied`, `report_delivered` stages). */
  async handle(report: ExecutionReport, received: StageStart = stageStart()): Promise<void> {
    if (report.execType === 'new') {
      // An ack racing the answer to a submission of this process: that answer, once committed, says
      // whether the ack still has anything to record (see SubmissionAnswers).
      const answered = await this.ledger.answers.answered(report.clientOrderId, ANSWER_WAIT_MS);
      if (answered && changesNothing(answered, report)) {
        return;
      }
    }
    const committed = await this.orders.findCommittedById(report.clientOrderId);
    if (!committed) {
      this.logger.warn(
        { venue: report.venue, clientOrderId: report.clientOrderId },
        'report for an order we do not know',
      );
      return;
    }
    if (changesNothing(committed, report)) {
      return; // A repeated or late ack: no lock, no write (see changesNothing).
    }
    await this.ledger.inAccount(
      committed.accountId,
      async (tx) => {
        const order = await this.orders.find(tx, report.clientOrderId);
        if (!order || changesNothing(order, report)) {
          // Most often an ack that raced the submit's answer: the lock waited for the answer to commit.
          tx.recordsNothing();
          return;
        }
        await this.apply(tx, order, report);
      },
      { stage: 'report', received },
    );
  }

  /** Applies one report to an order inside the caller's account transaction (reconciliation uses it too). */
  async apply(tx: AccountTransaction, order: Order, report: ExecutionReport): Promise<void> {
    const now = this.clock.now();
    const evidence = { brokerPayload: report.raw };
    const brokerOrderId = report.brokerOrderId;
    switch (report.execType) {
      case 'new':
        if (awaitsAcknowledgement(order)) {
          this.alertIfRestatingRejection(order, 'acknowledgement');
          const booked = bookedQuantity(order, report);
          await tx.applyEvent(order, { kind: 'accepted', at: now, brokerOrderId, bookedQuantity: booked }, evidence);
        } else if (rebooks(order, report)) {
          // Accepted for a quantity the venue did not book in the end (reconciliation took an early report).
          const booked = bookedQuantity(order, report);
          this.logger.warn(
            { orderId: order.id, accountId: order.accountId, from: order.quantity.toFixed(), to: booked.toFixed() },
            "replacement's booked quantity restated from the broker's report",
          );
          await tx.applyEvent(order, { kind: 'rebooked', at: now, bookedQuantity: booked }, evidence);
        }
        return;
      case 'trade':
        await this.applyExecution(tx, order, report, now);
        return;
      case 'canceled':
        if (order.status !== 'canceled') {
          await tx.applyEvent(order, { kind: 'canceled', at: now, brokerOrderId }, evidence);
        }
        return;
      case 'expired':
        if (order.status !== 'expired') {
          await tx.applyEvent(order, { kind: 'expired', at: now, brokerOrderId }, evidence);
        }
        return;
      case 'rejected':
        if (order.status !== 'rejected') {
          const reason = { code: 'broker.rejected', message: report.reason ?? 'rejected by the broker' };
          await tx.applyEvent(order, { kind: 'rejected', at: now, reason }, evidence);
        }
        return;
      case 'replaced':
        if (order.status !== 'replaced') {
          await tx.applyEvent(order, { kind: 'replaced', at: now }, evidence);
        }
        return;
      case 'pending_cancel':
        return; // We set pending_cancel ourselves when we send the cancel.
    }
  }

  private async applyExecution(
    tx: AccountTransaction,
    order: Order,
    report: ExecutionReport,
    now: number,
  ): Promise<void> {
    const execution = report.execution;
    if (!execution) {
      this.logger.warn({ orderId: order.id, evidence: report.raw }, 'trade report without an execution ignored');
      return;
    }
    // A replacement's fill is sized by what the venue booked (it may come before its acknowledgement).
    const outcome = applyOrderEvent(order, {
      kind: 'fill',
      at: now,
      quantity: execution.quantity,
      price: execution.price,
      brokerOrderId: report.brokerOrderId,
      bookedQuantity: bookedQuantity(order, report),
    });
    const overfill = outcome.kind === 'invalid' && outcome.reason === 'overfill';
    const record: ExecutionRecord = {
      id: uuidv7(),
      accountId: order.accountId,
      orderId: order.id,
      venue: report.venue,
      brokerExecutionId: execution.brokerExecutionId,
      symbol: order.symbol,
      side: order.side,
      quantity: execution.quantity,
      price: execution.price,
      executedAt: execution.executedAt,
      receivedAt: now,
      tradingDay: tradingDayOf(now),
      overfill,
      applied: outcome.kind === 'applied',
      brokerPayload: report.raw ?? null,
    };
    if (!(await this.executions.insertIfNew(tx, record))) {
      this.metrics.duplicateExecutions.inc({ venue: report.venue });
      return; // Already applied: the broker sent this execution again.
    }
    if (outcome.kind === 'invalid') {
      if (overfill) {
        await this.orders.markOverfilled(tx, order.id);
        this.metrics.overfills.inc({ venue: report.venue });
      }
      this.logger.error(
        {
          orderId: order.id,
          accountId: order.accountId,
          status: order.status,
          brokerExecutionId: execution.brokerExecutionId,
          alert: overfill ? 'overfill' : 'execution_not_applicable',
        },
        'execution kept as evidence, not applied to the order or the position',
      );
      return;
    }
    this.alertIfRestatingRejection(order, 'execution');
    await tx.record(outcome, { execution: toExecutionDto(record), brokerPayload: report.raw });
    await this.applyToPosition(tx, order, execution.quantity, execution.price, now);
  }

  /** A rejected order the broker turns out to have (a late ack or fill): restated, and an alert. */
  private alertIfRestatingRejection(order: Order, evidence: string): void {
    if (order.status === 'rejected') {
      this.logger.error(
        {
          orderId: order.id,
          accountId: order.accountId,
          rejectReason: order.rejectReason,
          alert: 'rejection_contradicted',
        },
        `broker ${evidence} for an order recorded as rejected: restating it from the broker's evidence`,
      );
    }
  }

  private async applyToPosition(
    tx: AccountTransaction,
    order: Order,
    quantity: Decimal,
    price: Decimal,
    now: number,
  ): Promise<void> {
    const stored = await this.positions.find(tx, order.symbol);
    const current = stored?.position ?? flatPosition(order.symbol);
    const multiplier = contractMultiplier(order.symbol);
    const next = applyFillToPosition(current, order.side, quantity, price, multiplier);
    // The daily loss check counts realized P&L from the start of the trading day: the first change of a
    // new day keeps what was realized before it.
    const tradingDay = tradingDayOf(now);
    const dayStartRealizedPnl =
      stored && stored.tradingDay === tradingDay ? stored.dayStartRealizedPnl : current.realizedPnl;
    await this.positions.save(tx, { position: next, tradingDay, dayStartRealizedPnl }, now);
  }
}
