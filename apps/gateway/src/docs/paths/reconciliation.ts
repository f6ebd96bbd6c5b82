import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { reconciliationPassesSchema, reconciliationQuery } from '../../orders/reconciliation.schema.js';
import { accountPath, common, json, problem } from '../responses.js';

export const reconciliationPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/reconciliation': {
    get: {
      tags: ['Orders'],
      summary:
        "The account's reconciliation passes, newest first, from the job log: when each ran, what started it and its outcome. " +
        '`breaks` is empty until position reconciliation exists.',
      requestParams: { path: accountPath, query: reconciliationQuery },
      responses: { '200': json('', reconciliationPassesSchema), '422': problem('validation.failed'), ...common },
    },
  },
};
