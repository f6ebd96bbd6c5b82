import { z } from 'zod';
import { typesAgree } from '../common/type-agreement.js';
import type { HealthController } from './health.controller.js';

/** `GET /health/live`. */
export const liveSchema = z.object({ status: z.literal('ok') });

const check = z.object({ status: z.enum(['up', 'down']), detail: z.string().optional() });

/** `GET /health/ready`: 200 when every check is up, 503 otherwise. */
export const readySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), check).meta({
    description: 'database, redis, broker; only `draining` (down) while the instance shuts down after SIGTERM',
  }),
});

/** `GET /metrics`: Prometheus text exposition format. */
export const prometheusText = z.string().meta({ description: 'Prometheus text format' });

typesAgree<z.infer<typeof liveSchema>, ReturnType<HealthController['live']>>(true);
typesAgree<z.infer<typeof readySchema>, Awaited<ReturnType<HealthController['ready']>>>(true);
