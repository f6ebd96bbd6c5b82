import {
  applyOrderEvent,
  type Order,
  type OrderEvent,
  type OrderEventName,
  type OrderEventOutcome,
} from '@gateway/oms';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { LOGGER } from '../common/logger.js';
import { GatewayMetrics } from '../health/metrics.js';
import { stageStart, type StageStart } from '../health/stage-clock.js';
import type { AccountEntity } from '../database/entities.js';
import { isUuid } from '../common/ids.js';
import { LOCK_ACCOUNT } from '../persistence/account-lock.js';
import {
  type LockedRead,
  LockedReadResults,
  type LockedReadScope,
  runStatements,
  type SimpleQueryClient,
  type Statement,
} from '../persistence/locked-reads.js';
import type { StreamEvent } from './stream-event.js';
import { AfterCommitDispatcher } from './after-commit/after-commit.dispatcher.js';
import { type ExecutionDto, toOrderDto } from './order.mapper.js';
import { type BatchingScope, flushingManager, WriteBatch, writeIn } from '../persistence/write-batch.js';
import { OrderEventRepository } from './persistence/order-event.repository.js';
import { OrderRepository } from './persistence/order.repository.js';
import { SubmissionAnswers } from './submission-answers.js';

/** What a broker or the gateway showed for an event, kept with it in the event log. */
export interface EventEvidence {
  readonly execution?: ExecutionDto;
  readonly brokerPayload?: unknown;
}

/**
 * One account's transaction, holding the account row lock (`SELECT ... FOR UPDATE`) so that the
 * account's commands and broker reports are serialised across every gateway instance, and `seq`
 * is handed out without gaps (ARCHITECTURE.md, "Placing an order", step 2). Repositories take it as
 * their `AccountScope`; order writes go through `insertOrder` and `applyEvent`, which record the events
 * that are published once the transaction has committed.
 */
export class AccountTransaction implements BatchingScope, LockedReadScope {
  readonly events: StreamEvent[] = [];
  /** The writes held to be sent together (WriteBatch); `manager` sends them before anything else. */
  readonly writes: WriteBatch;
  /** The transaction's manager: every call through it sends the held writes first (flushingManager). */
  readonly manager: EntityManager;
  /** The orders as this transaction last wrote them, by id (OrderRepository.find answers from it). */
  readonly written = new Map<string, Order>();
  private lastSeq: number;
  private unchanged = false;
  private managerCalled = false;

  constructor(
    manager: EntityManager,
    readonly account: AccountEntity,
    private readonly orders: OrderRepository,
    private readonly log: OrderEventRepository,
    private readonly logger: Logger,
    /** The rows of the reads sent with the lock (OrderLedger.inAccount's `reads`), for `readIn`. */
    readonly lockedReads: LockedReadResults = new LockedReadResults([], []),
  ) {
    this.writes = new WriteBatch(manager);
    this.manager = flushingManager(manager, this.writes, () => (this.managerCalled = true));
    this.lastSeq = Number(account.lastSeq);
  }

  /**
   * Whether the transaction may have written anything: a write held or sent, or any statement sent
   * through `manager` (counted as one: it may have been a write), so that a read sent with the lock is
   * answered from there only before (LockedRead).
   */
  get hasWritten(): boolean {
    return this.writes.hasWritten || this.managerCalled || this.lastSeq !== Number(this.account.lastSeq);
  }

  /**
   * Inserts a new order with its first event (`pending_new` or `denied`). `acceptedTradingState`: the
   * account's effective trading state it was accepted in (kill switch: what to cancel); `intentMid`: the
   * mid of the quote its risk check used (decimal string), null without one.
   */
  async insertOrder(
    order: Omit<Order, 'lastSeq'>,
    event: OrderEventName,
    venue: string,
    acceptedTradingState: string | null = null,
    intentMid: string | null = null,
  ): Promise<Order> {
    const stored: Order = { ...order, lastSeq: this.nextSeq() };
    await this.orders.insert(this, stored, { venue, acceptedTradingState, intentMid });
    this.written.set(stored.id, stored);
    await this.append(stored, event, {});
    return stored;
  }

  /**
   * Applies one event to an order (`applyOrderEvent` of libs/oms) and records the outcome. An invalid
   * transition changes nothing and is logged with the evidence (a broker report we did not expect):
   * returns null.
   */
  async applyEvent(order: Order, event: OrderEvent, evidence: EventEvidence = {}): Promise<Order | null> {
    const outcome = applyOrderEvent(order, event);
    if (outcome.kind === 'invalid') {
      this.logger.warn(
        { orderId: order.id, accountId: order.accountId, from: order.status, event, evidence: evidence.brokerPayload },
        'invalid order transition ignored',
      );
      return null;
    }
    return outcome.order === order ? order : this.record(outcome, evidence);
  }

  /**
   * Records an applied event: saves the order and appends its public event with the next seq (an event
   * recorded without a public one, a held cancel, saves the order only).
   */
  async record(outcome: Extract<OrderEventOutcome, { kind: 'applied' }>, evidence: EventEvidence = {}): Promise<Order> {
    if (outcome.eventName === null) {
      await this.orders.save(this, outcome.order);
      this.written.set(outcome.order.id, outcome.order);
      return outcome.order;
    }
    const stored: Order = { ...outcome.order, lastSeq: this.nextSeq() };
    await this.orders.save(this, stored);
    this.written.set(stored.id, stored);
    await this.append(stored, outcome.eventName, evidence);
    return stored;
  }

  /**
   * Declares that the work only read: the transaction then ends with ROLLBACK, releasing the lock
   * without a durable commit that would record nothing. The caller vouches that it wrote nothing
   * through `manager`; an event appended all the same (or one appended after) makes it commit as usual.
   */
  recordsNothing(): void {
    this.unchanged = true;
  }

  /** Whether the transaction can end without a commit: declared read-only and nothing appended. */
  get wroteNothing(): boolean {
    return (
      this.unchanged &&
      this.events.length === 0 &&
      this.writes.pending === 0 &&
      this.lastSeq === Number(this.account.lastSeq)
    );
  }

  private nextSeq(): number {
    this.lastSeq += 1;
    return this.lastSeq;
  }

  private async append(order: Order, name: OrderEventName, evidence: EventEvidence): Promise<void> {
    const event = await this.log.append(this, {
      seq: order.lastSeq,
      name,
      order: toOrderDto(order),
      execution: evidence.execution,
      brokerPayload: evidence.brokerPayload,
      at: order.updatedAt,
    });
    this.events.push(event);
  }

  /**
   * Called once by the ledger to commit: the account's `last_seq` follows the events appended, and every
   * held write (with it, in one statement) comes back, for the ledger to send with the `COMMIT` as one
   * simple query: one round trip.
   */
  async commitStatements(): Promise<Statement[]> {
    if (this.lastSeq !== Number(this.account.lastSeq)) {
      await writeIn(this, {
        sql: `UPDATE accounts SET last_seq = $2, updated_at = $3 WHERE id = $1`,
        params: [this.account.id, String(this.lastSeq), new Date()],
        key: `accounts:${this.account.id}`,
      });
    }
    const writes = this.writes.drain();
    return writes === null ? [] : [writes];
  }
}

/** Ends a read-only account transaction with ROLLBACK (AccountTransaction.recordsNothing), carrying the result. */
class NothingToCommit<T> extends Error {
  constructor(readonly result: T) {
    super('nothing to commit');
  }
}

/**
 * Which unit of work of the order path a transaction is, for its latency stages
 * (`<stage>_lock_wait`, `_commit`, `_transaction`, `_publish` of `gateway_order_stage_seconds`);
 * `received`: when the execution report it applies reached the gateway (`report_applied`: received →
 * committed; `report_delivered`: received → its events handed to this instance's stream subscribers).
 * Observed once the transaction has committed; a rolled-back one observes nothing.
 */
export interface LedgerTiming {
  readonly stage: 'intent' | 'answer' | 'report';
  readonly received?: StageStart;
}

/** The unit of work of the order path: one transaction per account under its row lock. */
@Injectable()
export class OrderLedger {
  /** The submissions of this process whose answers are being recorded (for the acks that race them). */
  readonly answers = new SubmissionAnswers();

  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrderRepository,
    private readonly log: OrderEventRepository,
    private readonly afterCommit: AfterCommitDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly metrics?: GatewayMetrics,
  ) {}

  /**
   * Runs `work` in one transaction under the account's row lock. Once it has committed, the events it
   * appended go to the after-commit handlers (AfterCommitDispatcher: stream, time to live, held cancel),
   * never before. Returns the result and those events; null when the account does not exist. Work that
   * declared it recorded nothing (`tx.recordsNothing()`) ends with ROLLBACK instead: no events, no commit.
   * `timing`: the latency stages to observe (LedgerTiming), synchronously; nothing waits on them.
   * `reads`: reads the work will make, sent with the lock in its round trip (LockedRead, `readIn`).
   */
  async inAccount<T>(
    accountId: string,
    work: (tx: AccountTransaction) => Promise<T>,
    timing?: LedgerTiming,
    reads: readonly LockedRead[] = [],
  ): Promise<{ result: T; events: StreamEvent[] } | null> {
    let committed: { result: T; events: StreamEvent[] } | null;
    const begun = stageStart();
    let lockWait = 0;
    let committing = begun;
    try {
      committed = await this.lockedTransaction(accountId, reads, async (manager, account, results) => {
        lockWait = Number(stageStart() - begun) / 1e9;
        if (!account) {
          return { value: null, writes: [] };
        }
        const tx = new AccountTransaction(manager, account, this.orders, this.log, this.logger, results);
        const result = await work(tx);
        if (tx.wroteNothing) {
          throw new NothingToCommit(result);
        }
        const writes = await tx.commitStatements();
        committing = stageStart();
        return { value: { result, events: tx.events }, writes };
      });
    } catch (error) {
      if (error instanceof NothingToCommit) {
        return { result: error.result as T, events: [] };
      }
      throw error;
    }
    if (committed) {
      const metrics = timing ? this.metrics : undefined;
      const publishing = stageStart();
      if (metrics && timing) {
        const stage = timing.stage;
        metrics.orderStages.observe({ stage: `${stage}_lock_wait` }, lockWait);
        metrics.observeStage(`${stage}_commit`, committing);
        metrics.observeStage(`${stage}_transaction`, begun);
        if (timing.received !== undefined) {
          metrics.observeStage('report_applied', timing.received);
        }
      }
      this.afterCommit.dispatch(committed.events);
      if (metrics && timing) {
        metrics.observeStage(`${timing.stage}_publish`, publishing);
        if (timing.received !== undefined) {
          metrics.observeStage('report_delivered', timing.received);
        }
      }
    }
    return committed;
  }

  /**
   * One transaction holding the account's row lock, in two round trips when its work needs no other:
   * `BEGIN`, the `SELECT ... FOR UPDATE` and `reads` sent together as one simple query, and at the end
   * the held writes with the `COMMIT` as another (`runStatements`: each statement prepared once on the
   * connection and executed with its values written in as literals, since the simple protocol takes no
   * parameters; the account id is checked to be a UUID first). `body` runs on the transaction's manager
   * with the locked row (null: no such account) and the reads' rows, and gives its value with the writes
   * to commit with it; a throw rolls it back. Nothing else of TypeORM's transaction handling is used: no
   * nested transactions here.
   */
  private async lockedTransaction<R>(
    accountId: string,
    reads: readonly LockedRead[],
    body: (
      manager: EntityManager,
      account: AccountEntity | null,
      results: LockedReadResults,
    ) => Promise<{ value: R; writes: readonly Statement[] }>,
  ): Promise<R> {
    if (!isUuid(accountId)) {
      return (await body(this.dataSource.manager, null, new LockedReadResults([], []))).value;
    }
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as SimpleQueryClient;
    try {
      const [, locked, ...rows] = await runStatements(client, [
        'BEGIN',
        { sql: LOCK_ACCOUNT, params: [accountId.toLowerCase()] },
        ...reads,
      ]);
      const account = (locked?.[0] as AccountEntity | undefined) ?? null;
      const { value, writes } = await body(runner.manager, account, new LockedReadResults(reads, rows));
      await runStatements(client, [...writes, 'COMMIT']);
      return value;
    } catch (error) {
      // Also after a failed BEGIN or lock: a connection goes back to the pool only outside a transaction.
      await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}
