import { z } from 'zod';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import { accountIdParam } from '../common/api.schema.js';
import { problemSchema } from '../common/problem.schema.js';

/** Building blocks of the operations: every schema in them is a zod schema the routes validate or answer with. */
export const json = (description: string, schema: z.ZodType): ZodOpenApiResponseObject => ({
  description,
  content: { 'application/json': { schema } },
});

export const problem = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

export const common = {
  '401': problem('auth.unauthenticated: missing, invalid or expired token'),
  '404': problem('account.not_found (also for accounts that are not yours), order.not_found'),
};

export const accountPath = z.object({ accountId: accountIdParam });
