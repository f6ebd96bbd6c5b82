import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { auditPageSchema, auditQuery } from '../../audit/audit.schema.js';
import { json, problem } from '../responses.js';

export const auditPaths: ZodOpenApiPathsObject = {
  '/v1/audit': {
    get: {
      tags: ['Audit'],
      summary:
        'Audit log entries after a seq, oldest first (role admin with a grant on every account). `npm run audit:verify` checks the chain.',
      requestParams: { query: auditQuery },
      responses: {
        '200': json('', auditPageSchema),
        '401': problem('auth.unauthenticated: missing, invalid or expired token'),
        '403': problem('auth.forbidden: not admin, or no grant on every account'),
        '422': problem('validation.failed'),
      },
    },
  },
};
