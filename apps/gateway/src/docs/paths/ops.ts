import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { jobsStatusSchema } from '../../jobs/jobs.schema.js';
import { json, problem } from '../responses.js';

export const opsPaths: ZodOpenApiPathsObject = {
  '/v1/ops/jobs': {
    get: {
      tags: ['Operations'],
      summary:
        'The BullMQ job queues (reconciliation, token-refresh, key-rotation): waiting, active, delayed and failed counts and the newest failures with their reasons (role admin with a grant on every account).',
      responses: {
        '200': json('', jobsStatusSchema),
        '401': problem('auth.unauthenticated: missing, invalid or expired token'),
        '403': problem('auth.forbidden: not admin, or no grant on every account'),
        '503': problem('service.unavailable: Redis, which holds the queues, is down'),
      },
    },
  },
};
