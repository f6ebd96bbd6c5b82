import { z } from 'zod';
import { QUEUE_NAMES } from './job-queues.js';

/** Answer of `GET /v1/ops/jobs` (API.md "Additions in v1"). */
export const jobsStatusSchema = z
  .object({
    queues: z.array(
      z.object({
        name: z.enum(QUEUE_NAMES),
        waiting: z.int().min(0).meta({ description: 'jobs ready to run (prioritised ones included)' }),
        active: z.int().min(0).meta({ description: 'jobs running on some instance now' }),
        delayed: z
          .int()
          .min(0)
          .meta({ description: 'jobs due later: scheduled runs and retries waiting out their back-off' }),
        failed: z.int().min(0).meta({ description: 'jobs failed for good that are kept (the newest 500 per queue)' }),
        lastFailures: z
          .array(
            z.object({
              id: z.string().meta({ description: 'the BullMQ job id' }),
              reason: z.string().meta({
                description: 'why its last attempt failed; never a secret (taken out), at most 300 characters',
              }),
              at: z.iso.datetime().meta({ description: 'when it failed for good, ISO-8601 UTC' }),
            }),
          )
          .meta({ description: 'the newest failed jobs, newest first (at most 5)' }),
      }),
    ),
  })
  .meta({ id: 'JobQueues' });

export type JobsStatusDto = z.infer<typeof jobsStatusSchema>;
