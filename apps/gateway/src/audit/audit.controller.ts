import { Controller, Get, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ApiError } from '../common/api-error.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { type AuditEntryDto, AuditLogRepository } from './audit-log.repository.js';
import { auditQuery } from './audit.schema.js';

/**
 * The audit log over REST (README, "Audit log"): role `admin` with a grant on every account, since it spans
 * them all.
 */
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLogRepository) {}

  /** Entries with seq > `after`, oldest first, at most `limit` (page on with the last seq). */
  @Get()
  @RequireRole('admin')
  async list(
    @Req() req: AuthenticatedRequest,
    @Query(new ZodPipe(auditQuery)) query: z.infer<typeof auditQuery>,
  ): Promise<{ entries: AuditEntryDto[] }> {
    if (req.principal.accounts !== '*') {
      throw ApiError.forbidden('Reading the audit log needs a grant on every account (*).');
    }
    return { entries: await this.audit.page(query.after, query.limit) };
  }
}
