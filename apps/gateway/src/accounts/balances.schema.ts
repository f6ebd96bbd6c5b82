import { z } from 'zod';
import { decimalString, isoTime } from '../common/api.schema.js';
import { typesAgree } from '../common/type-agreement.js';
import type { BalancesDto } from './balances.service.js';

/** The public Balances (API.md "Additions": `GET /v1/accounts/{id}/balances`). */
export const balancesSchema = z
  .object({
    cash: decimalString.meta({ description: 'USD; negative when borrowed' }),
    buyingPower: decimalString.meta({
      description: "USD the account may open now: the broker's figure, or for a paper account its cash floored at 0",
    }),
    equity: decimalString.meta({
      description:
        "USD: cash plus the positions at the current mark (the broker's figure, or computed: mid, else last; cost when no current quote)",
    }),
    currency: z.literal('USD'),
    asOf: isoTime.meta({ description: 'when the figures were read (broker) or computed' }),
    source: z.enum(['broker', 'computed']).meta({
      description:
        "broker: the broker's own account (Alpaca GET /v2/account); computed: a paper account, PAPER_STARTING_CASH plus its executions' cash flows × multiplier",
    }),
  })
  .meta({ id: 'Balances' });
typesAgree<z.infer<typeof balancesSchema>, BalancesDto>(true);
