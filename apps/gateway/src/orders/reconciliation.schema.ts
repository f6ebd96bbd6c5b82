import { z } from 'zod';

/** Query of `GET /v1/accounts/{accountId}/reconciliation`. */
export const reconciliationQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50).meta({ description: 'passes, newest first' }),
});

/** Answer of `GET /v1/accounts/{accountId}/reconciliation` (API.md "Additions in v1"). */
export const reconciliationPassesSchema = z
  .object({
    passes: z.array(
      z.object({
        id: z.uuid(),
        startedAt: z.iso.datetime(),
        finishedAt: z.iso.datetime().nullable().meta({ description: 'null while it runs, or when its instance died' }),
        outcome: z
          .enum(['clean', 'breaks', 'failed'])
          .nullable()
          .meta({
            description:
              '`clean`: every order agrees with the broker (after the corrections made); `breaks`: an order the ' +
              "broker's evidence could not settle; `failed`: the pass could not run (the broker down, say); null: not finished",
          }),
        trigger: z.enum(['startup', 'scheduled', 'on_demand']).meta({
          description: 'an instance’s start, the repeatable job (every RECONCILE_INTERVAL_MS), or POST …/reconcile',
        }),
        corrections: z.int().min(0).meta({ description: 'orders the pass brought to the broker’s state' }),
        unresolved: z.int().min(0).meta({ description: 'orders it could not settle' }),
        breaks: z
          .array(
            z.object({
              id: z.string(),
              kind: z.enum(['position', 'order', 'execution']),
              symbol: z.string(),
              ours: z.string(),
              broker: z.string(),
              status: z.enum(['open', 'resolved', 'acknowledged']),
            }),
          )
          .meta({
            description:
              'always empty for now: the pass reconciles orders and executions (corrections are applied, not kept as ' +
              'breaks); position reconciliation, which will report breaks here, is not built yet',
          }),
      }),
    ),
  })
  .meta({ id: 'ReconciliationPasses' });

export type ReconciliationPassesDto = z.infer<typeof reconciliationPassesSchema>;
