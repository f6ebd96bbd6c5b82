import { hostname } from 'node:os';
import type { Clock } from '@gateway/oms';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { safeFailureReason } from '../jobs/job-failure.js';
import { type AccountJobData, JobFailedError, JobQueues, JobsUnavailableError } from '../jobs/job-queues.js';
import { CLOCK } from '../market/market.tokens.js';
import { type AccountPassScheduler, OrderReconciler } from './order-reconciler.js';
import { PositionReconciler } from './position-reconciler.js';
import {
  ReconciliationRunRepository,
  type ReconciliationTrigger,
} from './persistence/reconciliation-run.repository.js';

/** The job of the `reconciliation` queue: one account's pass. */
export interface ReconciliationJobData extends AccountJobData {
  readonly trigger: ReconciliationTrigger;
}

/** A pass's corrections: per order, the kinds of the actions taken (`accept`, `fill`, ...). */
export interface AccountPassResult {
  readonly orders: { orderId: string; actions: string[] }[];
}

const QUEUE = 'reconciliation';
const JOB_NAME = 'account-pass';
/** Account passes one instance runs at once (of different accounts: one account's wait on its lock). */
const CONCURRENCY = 2;
/** Longest a pass waits for the account's lock (another instance's pass of it) before failing the attempt. */
const LOCK_WAIT_MS = 120_000;
/** Longest the on-demand route waits for its job before answering 503. */
const ON_DEMAND_TIMEOUT_MS = 60_000;
/** Longest between two looks for accounts without their repeatable job. */
const SCHEDULES_PERIOD_MS = 30_000;

/** This process in the job log: host and process id (the two-instance test kills by it). */
export const RECONCILER_INSTANCE = `${hostname()}-${process.pid}`;

/**
 * The account reconciliation pass on BullMQ (README, "Jobs and queues"): the `reconciliation` queue's
 * processor on every instance, a repeatable job per account every RECONCILE_INTERVAL_MS (a job
 * scheduler per account, id `account-<accountId>`), a job per account at each instance's start-up, and
 * one per on-demand request (`POST /v1/accounts/{id}/reconcile`, which waits for it).
 *
 * Exactly one instance reconciles a given account at a time: BullMQ hands each job to one worker, and
 * since consecutive jobs of one account may still meet (a run longer than the interval, the start-up and
 * on-demand jobs beside the scheduled one, a stalled job taken over while its first worker still runs),
 * every run holds the account's reconciliation lock (a PostgreSQL advisory lock, released by PostgreSQL
 * when its instance dies) from before its row in the job log (`reconciliation_runs`) is written until
 * after it is finished. A run waiting for the lock runs after the other, not beside it.
 *
 * With Redis down no job can be enqueued: the on-demand route and the start-up pass then run the pass
 * in this process, under the same lock and in the same log (no job id); the scheduled jobs that fell due
 * meanwhile run once Redis is back.
 */
@Injectable()
export class ReconciliationJobs implements OnModuleInit, OnModuleDestroy, AccountPassScheduler {
  /** Accounts whose repeatable job this instance has set (since Redis last came back). */
  private readonly scheduled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reconciler: OrderReconciler,
    private readonly positions: PositionReconciler,
    private readonly runs: ReconciliationRunRepository,
    private readonly jobs: JobQueues,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.reconciler.schedulePassesWith(this);
    this.jobs.process<ReconciliationJobData, AccountPassResult>(
      QUEUE,
      async (job) => {
        if (!this.config.environments.includes(job.data.environment)) {
          throw new UnrecoverableError(
            `account ${job.data.accountId} is in an environment this instance does not serve`,
          );
        }
        return this.run(job.data, job.id);
      },
      { concurrency: CONCURRENCY },
    );
    this.jobs.onReconnect(() => this.scheduled.clear());
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * At this instance's start-up: a pass of each of `accountIds` (in the queue: on some instance, soon),
   * and the repeatable job of every account of the environments it serves. With Redis down, the passes
   * run here and the schedules are set at the next start.
   */
  async startup(accountIds: readonly string[]): Promise<void> {
    const pending: string[] = [];
    for (const accountId of accountIds) {
      const environment = await this.runs.environmentOf(accountId);
      if (environment === null || !this.config.environments.includes(environment)) {
        continue;
      }
      const data: ReconciliationJobData = { accountId, environment, trigger: 'startup' };
      await this.jobs
        .enqueue(QUEUE, JOB_NAME, data, { jobId: `startup-${RECONCILER_INSTANCE}-${accountId}` })
        .catch(async (error: unknown) => {
          if (!(error instanceof JobsUnavailableError)) {
            throw error;
          }
          pending.push(accountId);
          await this.run(data, null);
        });
    }
    await this.ensureSchedules();
    // Accounts created later get theirs within a period; so does every account after Redis lost its data.
    const period = Math.min(Math.max(this.config.reconcileIntervalMs, 1_000), SCHEDULES_PERIOD_MS);
    this.timer ??= setInterval(() => void this.ensureSchedules(), period);
    this.timer.unref();
    if (pending.length > 0) {
      this.logger.warn({ accounts: pending.length }, 'start-up reconciliation ran in process: Redis is unavailable');
    }
  }

  /** Sets the repeatable job of every account of the environments served that this instance has not set yet. */
  private async ensureSchedules(): Promise<void> {
    try {
      for (const account of await this.runs.accountsIn(this.config.environments)) {
        if (!this.scheduled.has(account.id)) {
          await this.scheduleAccount(account.id, account.environment);
          this.scheduled.add(account.id);
        }
      }
    } catch (error) {
      const message = error instanceof JobsUnavailableError ? error.message : safeFailureReason(error);
      this.logger.warn({ err: { message } }, 'reconciliation schedules not set; trying again');
    }
  }

  /** The account's repeatable pass, every RECONCILE_INTERVAL_MS (idempotent; for accounts created later too). */
  async scheduleAccount(accountId: string, environment: 'paper' | 'live'): Promise<void> {
    const data: ReconciliationJobData = { accountId, environment, trigger: 'scheduled' };
    await this.jobs.schedule(QUEUE, `account-${accountId}`, this.config.reconcileIntervalMs, JOB_NAME, data);
  }

  passedSince(accountIds: readonly string[], since: number): Promise<string[]> {
    return accountIds.length === 0 ? Promise.resolve([]) : this.runs.passedSince(accountIds, since);
  }

  /**
   * The account's pass now, on whichever instance takes the job, waited for; in this process when Redis
   * is down. Its corrections, or 503 when it failed or did not finish in time.
   */
  async runNow(accountId: string, environment: 'paper' | 'live'): Promise<AccountPassResult> {
    const data: ReconciliationJobData = { accountId, environment, trigger: 'on_demand' };
    try {
      return await this.jobs.enqueueAndWait<ReconciliationJobData, AccountPassResult>(
        QUEUE,
        JOB_NAME,
        data,
        ON_DEMAND_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof JobFailedError) {
        throw ApiError.unavailable(`The reconciliation pass failed: ${error.message}`);
      }
      if (!(error instanceof JobsUnavailableError)) {
        throw error;
      }
      this.logger.warn({ accountId, err: { message: error.message } }, 'on-demand reconciliation runs in process');
      return this.run(data, null).catch((failure: unknown) => {
        throw ApiError.unavailable(`The reconciliation pass failed: ${safeFailureReason(failure)}`);
      });
    }
  }

  /**
   * The account's pass in this process, under the same lock and in the same log (no job id): the pass a
   * broker reconnect runs (BrokerReconnectReconciliation), which waits for it before restoring entries.
   */
  runHere(
    accountId: string,
    environment: 'paper' | 'live',
    trigger: ReconciliationTrigger,
  ): Promise<AccountPassResult> {
    return this.run({ accountId, environment, trigger }, null);
  }

  /**
   * One pass of the account under its reconciliation lock, recorded in the job log: its orders and
   * executions (OrderReconciler.reconcileAccount, which brings in the fills the broker lists that we
   * lack), then its positions (PositionReconciler, against the positions those fills made). The outcome
   * is `breaks` when an order stays unresolved or a position differs from the broker's.
   */
  private run(data: ReconciliationJobData, jobId: string | null): Promise<AccountPassResult> {
    return this.runs.withAccountLock(data.accountId, LOCK_WAIT_MS, async () => {
      const runId = await this.runs.start({
        accountId: data.accountId,
        environment: data.environment,
        trigger: data.trigger,
        instanceId: RECONCILER_INSTANCE,
        jobId,
        at: this.clock.now(),
      });
      try {
        const results = await this.reconciler.reconcileAccount(data.accountId);
        const unresolved = results.filter((r) => r.actions.some((a) => a.kind === 'unresolved')).length;
        const corrections = results.filter((r) => r.actions.some((a) => a.kind !== 'unresolved')).length;
        const positions = await this.positions.reconcile(data.accountId, runId);
        const positionBreaks = positions.kind === 'passed' ? positions.breaks.length : 0;
        await this.runs.finish(runId, {
          at: this.clock.now(),
          outcome: unresolved > 0 || positionBreaks > 0 ? 'breaks' : 'clean',
          corrections,
          unresolved,
        });
        if (results.length > 0 || positionBreaks > 0) {
          this.logger.info(
            { accountId: data.accountId, orders: results.length, positionBreaks, trigger: data.trigger, jobId },
            'account reconciliation',
          );
        }
        return { orders: results.map((r) => ({ orderId: r.orderId, actions: r.actions.map((a) => a.kind) })) };
      } catch (error) {
        const reason = safeFailureReason(error);
        await this.runs.finish(runId, {
          at: this.clock.now(),
          outcome: 'failed',
          corrections: 0,
          unresolved: 0,
          error: reason,
        });
        this.logger.error(
          { accountId: data.accountId, trigger: data.trigger, jobId, reason, alert: 'reconciliation_failed' },
          'account reconciliation failed',
        );
        throw error;
      }
    });
  }
}
