import { z } from 'zod';
import { typesAgree } from './type-agreement.js';
import type { FieldError } from './api-error.js';

const fieldError = z.object({ path: z.string(), message: z.string() });
typesAgree<z.infer<typeof fieldError>, FieldError>(true);

/**
 * The RFC 9457 problem+json body of every error answer (API.md "Conventions"), as ProblemFilter writes it:
 * the standard members, the stable `code`, and the extension members some answers add.
 */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    code: z.string().meta({ examples: ['validation.failed', 'risk.max_notional', 'idempotency.key_reused'] }),
    errors: z.array(fieldError).optional(),
    requestId: z.string(),
    orderId: z.string().optional().meta({ description: 'risk denials and idempotency conflicts: the order concerned' }),
    version: z.int().optional().meta({ description: 'risk_limits.version_conflict: the current version' }),
    breakStatus: z
      .enum(['resolved', 'acknowledged'])
      .optional()
      .meta({ description: 'reconciliation.break_not_open: the status the break has' }),
    retryAfterSeconds: z.int().optional().meta({ description: 'rate_limit.exceeded: as the Retry-After header' }),
  })
  .meta({ id: 'Problem' });
