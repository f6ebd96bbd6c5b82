import { Injectable } from '@nestjs/common';
import { ApiError } from '../../common/api-error.js';
import { ReconciliationRunRepository } from '../persistence/reconciliation-run.repository.js';
import { ReconciliationJobs } from '../reconciliation-jobs.js';

/** The corrections of an account pass: per order, the kinds of the actions taken (`accept`, `fill`, ...). */
export interface AccountReconciliation {
  readonly orders: { orderId: string; actions: string[] }[];
}

/**
 * Runs the account reconciliation pass now (the one that runs at start-up and every
 * RECONCILE_INTERVAL_MS): a job of the `reconciliation` queue, on whichever instance takes it, never
 * beside another pass of the account (ReconciliationJobs), waited for. Answers the corrections made;
 * 503 when the pass failed (the broker down, say) or did not finish within a minute.
 */
@Injectable()
export class ReconcileAccountHandler {
  constructor(
    private readonly jobs: ReconciliationJobs,
    private readonly runs: ReconciliationRunRepository,
  ) {}

  async execute(accountId: string): Promise<AccountReconciliation> {
    const environment = await this.runs.environmentOf(accountId);
    if (environment === null) {
      throw ApiError.accountNotFound(accountId);
    }
    return this.jobs.runNow(accountId, environment);
  }
}
