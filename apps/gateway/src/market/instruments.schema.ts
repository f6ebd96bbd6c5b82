import { z } from 'zod';
import { decimalString, isoTime } from '../common/api.schema.js';
import { typesAgree } from '../common/type-agreement.js';
import type { InstrumentDto } from './instruments.js';

const tickRule = z.union([
  z.object({ kind: z.literal('flat'), tick: decimalString }),
  z.object({ kind: z.literal('stepped'), threshold: decimalString, below: decimalString, atOrAbove: decimalString }),
]);

/** One instrument of `GET /v1/instruments` (API.md "Additions"), with its product's rules. */
export const instrumentSchema = z
  .object({
    symbol: z.string().meta({ description: 'ticker, or the padded 21-character OSI symbol' }),
    kind: z.enum(['equity', 'option']),
    root: z.string().meta({ description: 'the OSI root of an option (SPXW), the ticker of shares' }),
    product: z.string().meta({ description: "SPY, root:SPXW…: the spelling of the risk limits' allowedSymbols" }),
    description: z.string(),
    underlying: z.string(),
    multiplier: decimalString.meta({ description: 'contract multiplier: 100 for options, 1 for shares' }),
    tick: decimalString.meta({
      description:
        "USD: the minimum increment at the current mark (mid, else last); without one, the rule's tick at and above its threshold",
    }),
    tickRule,
    settlement: z.enum(['cash', 'physical', 't+1']).meta({
      description: 'options: cash (index) or physical (ETF shares delivered); shares: t+1',
    }),
    exercise: z.enum(['european', 'american']).nullable().meta({ description: 'null for shares' }),
    session: z.object({ open: z.string(), close: z.string() }).meta({
      description: 'regular session, America/New_York HH:MM',
    }),
    expiry: z.iso.date().optional(),
    strike: decimalString.optional(),
    right: z.enum(['call', 'put']).optional(),
    tradingEndsAt: isoTime.optional().meta({ description: 'options: when the series stops trading' }),
  })
  .meta({ id: 'Instrument' });
typesAgree<z.infer<typeof instrumentSchema>, InstrumentDto>(true);

export const instrumentListSchema = z.object({ instruments: z.array(instrumentSchema) });

/** Query of `GET /v1/instruments`: an exact symbol (OSI padded or not), an OSI root or ticker. */
export const instrumentsQuery = z.strictObject({
  symbol: z.string().min(1).max(32).optional(),
  root: z
    .string()
    .regex(/^[A-Z][A-Z0-9]{0,5}$/, 'must be an OSI root or a ticker (1–6 of A–Z, 0–9)')
    .optional(),
});
