import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { quoteSchema, replayCommandSchema, replayStateSchema, symbolParam } from '../../market/market.schema.js';
import { json, problem } from '../responses.js';

export const marketPaths: ZodOpenApiPathsObject = {
  '/v1/quotes/{symbol}': {
    get: {
      tags: ['Market data'],
      requestParams: { path: z.object({ symbol: symbolParam }) },
      responses: {
        '200': json('', quoteSchema),
        '401': problem('auth.unauthenticated: missing, invalid or expired token'),
        '404': problem('quote.not_found'),
      },
    },
  },
  '/v1/venues/paper/replay': {
    get: {
      tags: ['Paper venue'],
      summary: 'Paper replay state (role admin)',
      responses: {
        '200': json('', replayStateSchema),
        '403': problem('auth.forbidden: not admin, or no grant on every account'),
        '404': problem('venue.not_found: this gateway does not run the paper venue'),
        '502': problem('venue.failed: the shared paper venue (PAPER_VENUE_URL) answered otherwise'),
        '503': problem('venue.unavailable: the shared paper venue (PAPER_VENUE_URL) did not answer'),
      },
    },
    post: {
      tags: ['Paper venue'],
      summary:
        'Pause, resume, set speed or step the paper replay to a recorded time (role admin); with a shared paper venue, its replay',
      requestBody: { content: { 'application/json': { schema: replayCommandSchema } } },
      responses: {
        '200': json('', replayStateSchema),
        '403': problem('auth.forbidden: not admin, or no grant on every account'),
        '404': problem('venue.not_found: this gateway does not run the paper venue'),
        '422': problem('validation.failed; replay.out_of_window'),
        '502': problem('venue.failed: the shared paper venue (PAPER_VENUE_URL) answered otherwise'),
        '503': problem('venue.unavailable: the shared paper venue (PAPER_VENUE_URL) did not answer'),
      },
    },
  },
};
