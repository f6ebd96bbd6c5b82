import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { z } from 'zod';
import {
  acknowledgeBreakSchema,
  reconciliationBreakSchema,
  reconciliationPassesSchema,
  reconciliationQuery,
} from '../../orders/reconciliation.schema.js';
import { accountPath, common, json, problem } from '../responses.js';

const breakPath = accountPath.extend({ breakId: z.string().meta({ description: 'a break id, from the passes' }) });

export const reconciliationPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/reconciliation': {
    get: {
      tags: ['Orders'],
      summary:
        "The account's reconciliation passes, newest first, from the job log: when each ran, what started it, its outcome " +
        'and the position breaks it found (our position in a symbol differs from the broker’s after the fills the broker ' +
        'lists that we lacked were applied). An open break denies entries in its symbol (`422 risk.position_break`); ' +
        'exits stay possible.',
      requestParams: { path: accountPath, query: reconciliationQuery },
      responses: { '200': json('', reconciliationPassesSchema), '422': problem('validation.failed'), ...common },
    },
  },
  '/v1/accounts/{accountId}/reconciliation/breaks/{breakId}/acknowledge': {
    post: {
      tags: ['Orders'],
      summary:
        'Acknowledge an open position break (role risk), with a reason: it stops denying entries in its symbol; the ' +
        'difference is still reported, and a pass that finds a different one opens a new break. Audited.',
      requestParams: { path: breakPath },
      requestBody: { required: true, content: { 'application/json': { schema: acknowledgeBreakSchema } } },
      responses: {
        '200': json('The break, now acknowledged', reconciliationBreakSchema),
        '400': problem('validation.malformed_json'),
        '403': problem('auth.forbidden: only role risk acknowledges breaks'),
        '409': problem('reconciliation.break_not_open: the break is resolved or already acknowledged (`breakStatus`)'),
        '422': problem('validation.failed: `reason` missing or empty'),
        ...common,
        '404': problem('account.not_found; reconciliation.break_not_found: no such break in this account'),
      },
    },
  },
};
