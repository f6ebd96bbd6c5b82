import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';

/** What started a pass: an instance's start, the repeatable job, `POST …/reconcile`, a broker reconnect. */
export type ReconciliationTrigger = 'startup' | 'scheduled' | 'on_demand' | 'reconnect';
export type ReconciliationOutcome = 'clean' | 'breaks' | 'failed';

/** One run of an account's reconciliation pass (`reconciliation_runs`). Times in epoch ms. */
export interface ReconciliationRun {
  readonly id: string;
  readonly accountId: string;
  readonly environment: 'paper' | 'live';
  readonly trigger: ReconciliationTrigger;
  readonly instanceId: string;
  readonly jobId: string | null;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly outcome: ReconciliationOutcome | null;
  readonly corrections: number;
  readonly unresolved: number;
}

interface RunRow {
  id: string;
  account_id: string;
  environment: 'paper' | 'live';
  trigger: ReconciliationTrigger;
  instance_id: string;
  job_id: string | null;
  started_at: Date;
  finished_at: Date | null;
  outcome: ReconciliationOutcome | null;
  corrections: number;
  unresolved: number;
}

const toRun = (r: RunRow): ReconciliationRun => ({
  id: r.id,
  accountId: r.account_id,
  environment: r.environment,
  trigger: r.trigger,
  instanceId: r.instance_id,
  jobId: r.job_id,
  startedAt: r.started_at.getTime(),
  finishedAt: r.finished_at?.getTime() ?? null,
  outcome: r.outcome,
  corrections: r.corrections,
  unresolved: r.unresolved,
});

/**
 * The job log of account reconciliation (`reconciliation_runs`) and the account's reconciliation lock.
 * One query style: SQL.
 */
@Injectable()
export class ReconciliationRunRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Runs `work` holding the account's reconciliation lock: a transaction-scoped PostgreSQL advisory lock
   * on a connection of its own, waited for at most `waitMs` (then it throws). PostgreSQL releases it when
   * `work` ends, fails, or the process dies (its connection closes), so a killed instance never leaves it
   * held. The transaction holds nothing else; `work` writes through its own connections.
   */
  async withAccountLock<T>(accountId: string, waitMs: number, work: () => Promise<T>): Promise<T> {
    const runner: QueryRunner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SELECT set_config('lock_timeout', $1, true)`, [`${waitMs}ms`]);
      await runner.query(`SELECT pg_advisory_xact_lock(hashtextextended('reconciliation:' || $1, 0))`, [accountId]);
      const result = await work();
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) {
        await runner.rollbackTransaction().catch(() => undefined);
      }
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** Records a run as started now; answers its id. */
  async start(run: {
    accountId: string;
    environment: 'paper' | 'live';
    trigger: ReconciliationTrigger;
    instanceId: string;
    jobId: string | null;
    at: number;
  }): Promise<string> {
    const id = randomUUID();
    await this.dataSource.query(
      `INSERT INTO reconciliation_runs (id, account_id, environment, trigger, instance_id, job_id, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, run.accountId, run.environment, run.trigger, run.instanceId, run.jobId, new Date(run.at)],
    );
    return id;
  }

  /** Records a run's end: its outcome, the orders corrected and those left unsettled, the failure's reason. */
  async finish(
    id: string,
    end: { at: number; outcome: ReconciliationOutcome; corrections: number; unresolved: number; error?: string },
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE reconciliation_runs
          SET finished_at = greatest($2, started_at), outcome = $3, corrections = $4, unresolved = $5, error = $6
        WHERE id = $1`,
      [id, new Date(end.at), end.outcome, end.corrections, end.unresolved, end.error ?? null],
    );
  }

  /** Of `accountIds`, those with a run started at or after `since` (epoch ms) that ended in `clean` or `breaks`. */
  async passedSince(accountIds: readonly string[], since: number): Promise<string[]> {
    const rows: { account_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT account_id FROM reconciliation_runs
        WHERE account_id = ANY($1::uuid[]) AND started_at >= $2 AND outcome IN ('clean', 'breaks')`,
      [[...accountIds], new Date(since)],
    );
    return rows.map((r) => r.account_id);
  }

  /** The account's runs, newest first, at most `limit`. */
  async list(accountId: string, limit: number): Promise<ReconciliationRun[]> {
    const rows: RunRow[] = await this.dataSource.query(
      `SELECT * FROM reconciliation_runs WHERE account_id = $1 ORDER BY started_at DESC, id LIMIT $2`,
      [accountId, limit],
    );
    return rows.map(toRun);
  }

  /** The accounts of the given environments, with theirs (each gets a repeatable reconciliation job). */
  async accountsIn(environments: readonly string[]): Promise<{ id: string; environment: 'paper' | 'live' }[]> {
    return this.dataSource.query(`SELECT id, environment FROM accounts WHERE environment = ANY($1) ORDER BY id`, [
      [...environments],
    ]);
  }

  /** The environment of an account, or null when it does not exist. */
  async environmentOf(accountId: string): Promise<'paper' | 'live' | null> {
    const rows: { environment: 'paper' | 'live' }[] = await this.dataSource.query(
      `SELECT environment FROM accounts WHERE id = $1`,
      [accountId],
    );
    return rows[0]?.environment ?? null;
  }
}
