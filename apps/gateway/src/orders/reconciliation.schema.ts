import { z } from 'zod';

/** Query of `GET /v1/accounts/{accountId}/reconciliation`. */
export const reconciliationQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50).meta({ description: 'passes, newest first' }),
});

/** One reconciliation break (API.md "Additions in v1"; the fields after `status` are additions). */
export const reconciliationBreakSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['position', 'order', 'execution']).meta({
      description: '`position`: our position in the symbol differs from the broker’s (the only kind recorded so far)',
    }),
    symbol: z.string(),
    ours: z.string().meta({ description: 'our signed position when the break was found (decimal string)' }),
    broker: z.string().meta({ description: 'the broker’s signed position when the break was found (decimal string)' }),
    status: z.enum(['open', 'resolved', 'acknowledged']).meta({
      description:
        'its status now. `open`: entries in the symbol are denied (`422 risk.position_break`), exits allowed; ' +
        '`acknowledged`: risk staff accepted it with a reason, entries allowed, the difference still there; ' +
        '`resolved`: a later pass no longer found it (or found a different difference, a new break)',
    }),
    foundAt: z.iso.datetime(),
    resolvedAt: z.iso.datetime().nullable(),
    acknowledgement: z
      .object({ by: z.string(), reason: z.string(), at: z.iso.datetime() })
      .nullable()
      .meta({ description: 'who acknowledged it, why and when; null until then' }),
    executions: z
      .array(
        z.object({
          brokerExecutionId: z.string(),
          brokerOrderId: z.string(),
          clientOrderId: z.string(),
          side: z.enum(['buy', 'sell']),
          quantity: z.string(),
          price: z.string(),
          executedAt: z.iso.datetime(),
        }),
      )
      .meta({
        description:
          'the broker’s executions in the symbol that the gateway never applied (orders not placed through it), ' +
          'found in its fill list of the look-back window: what may explain the break; empty when none was found',
      }),
  })
  .meta({ id: 'ReconciliationBreak' });

export type ReconciliationBreakDto = z.infer<typeof reconciliationBreakSchema>;

/** Body of `POST /v1/accounts/{accountId}/reconciliation/breaks/{breakId}/acknowledge`. */
export const acknowledgeBreakSchema = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).meta({ description: 'why the break may stand (kept with it)' }),
  })
  .meta({ id: 'AcknowledgeBreak' });

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
              '`clean`: every order and position agrees with the broker (after the corrections made); `breaks`: an ' +
              "order the broker's evidence could not settle, or a position that differs from the broker's; `failed`: " +
              'the pass could not run (the broker down, say); null: not finished',
          }),
        trigger: z.enum(['startup', 'scheduled', 'on_demand', 'reconnect']).meta({
          description:
            'an instance’s start, the repeatable job (every RECONCILE_INTERVAL_MS), POST …/reconcile, or a broker ' +
            'connection that came back',
        }),
        corrections: z.int().min(0).meta({ description: 'orders the pass brought to the broker’s state' }),
        unresolved: z.int().min(0).meta({ description: 'orders it could not settle' }),
        breaks: z.array(reconciliationBreakSchema).meta({
          description:
            'the position breaks this pass found or found still there (orders it could not settle are counted in ' +
            '`unresolved`), each with its status now',
        }),
      }),
    ),
  })
  .meta({ id: 'ReconciliationPasses' });

export type ReconciliationPassesDto = z.infer<typeof reconciliationPassesSchema>;
