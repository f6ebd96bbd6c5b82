import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import type { z } from 'zod';
import type { Account } from '../accounts/account.js';
import { VisibleAccount } from '../accounts/visible-account.decorator.js';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { ReconciliationBreakRepository, toBreakDto } from './persistence/reconciliation-break.repository.js';
import { ReconciliationRunRepository } from './persistence/reconciliation-run.repository.js';
import { PositionReconciler } from './position-reconciler.js';
import {
  acknowledgeBreakSchema,
  type ReconciliationBreakDto,
  type ReconciliationPassesDto,
  reconciliationQuery,
} from './reconciliation.schema.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/**
 * The account's reconciliation passes, from the job log, with the position breaks each found, and risk
 * staff's acknowledgement of a break (API.md "Additions in v1").
 */
@Controller('v1/accounts/:accountId/reconciliation')
export class ReconciliationController {
  constructor(
    private readonly runs: ReconciliationRunRepository,
    private readonly breaks: ReconciliationBreakRepository,
    private readonly positions: PositionReconciler,
  ) {}

  /** The newest passes first, at most `limit`, on whichever instance each ran. */
  @Get()
  async list(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(reconciliationQuery)) q: z.infer<typeof reconciliationQuery>,
  ): Promise<ReconciliationPassesDto> {
    const runs = await this.runs.list(account.id, q.limit);
    const seen = await this.breaks.seenBy(runs.map((r) => r.id));
    return {
      passes: runs.map((r) => ({
        id: r.id,
        startedAt: iso(r.startedAt),
        finishedAt: isoOrNull(r.finishedAt),
        outcome: r.outcome,
        trigger: r.trigger,
        corrections: r.corrections,
        unresolved: r.unresolved,
        breaks: (seen.get(r.id) ?? []).map(toBreakDto),
      })),
    };
  }

  /**
   * Risk staff accept an open break with a reason: it stops blocking entries in its symbol (`200`, the
   * break). `404 reconciliation.break_not_found`, `409 reconciliation.break_not_open` (resolved, or already
   * acknowledged), `422 validation.failed` without a reason. Audited like every change.
   */
  @Post('breaks/:breakId/acknowledge')
  @RequireRole('risk')
  @HttpCode(200)
  async acknowledge(
    @Req() req: AuthenticatedRequest,
    @VisibleAccount() account: Account,
    @Param('breakId') breakId: string,
    @Body(new ZodPipe(acknowledgeBreakSchema)) body: z.infer<typeof acknowledgeBreakSchema>,
  ): Promise<ReconciliationBreakDto> {
    return toBreakDto(await this.positions.acknowledge(account.id, breakId, req.principal.subject, body.reason));
  }
}
