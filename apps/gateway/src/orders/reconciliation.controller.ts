import { Controller, Get, Query } from '@nestjs/common';
import type { z } from 'zod';
import type { Account } from '../accounts/account.js';
import { VisibleAccount } from '../accounts/visible-account.decorator.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ReconciliationRunRepository } from './persistence/reconciliation-run.repository.js';
import { type ReconciliationPassesDto, reconciliationQuery } from './reconciliation.schema.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The account's reconciliation passes, from the job log (API.md "Additions in v1"). */
@Controller('v1/accounts/:accountId/reconciliation')
export class ReconciliationController {
  constructor(private readonly runs: ReconciliationRunRepository) {}

  /** The newest passes first, at most `limit`, on whichever instance each ran. */
  @Get()
  async list(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(reconciliationQuery)) q: z.infer<typeof reconciliationQuery>,
  ): Promise<ReconciliationPassesDto> {
    const runs = await this.runs.list(account.id, q.limit);
    return {
      passes: runs.map((r) => ({
        id: r.id,
        startedAt: iso(r.startedAt),
        finishedAt: r.finishedAt === null ? null : iso(r.finishedAt),
        outcome: r.outcome,
        trigger: r.trigger,
        corrections: r.corrections,
        unresolved: r.unresolved,
        breaks: [],
      })),
    };
  }
}
