import type { ReplayState } from '@gateway/brokers';
import { z } from 'zod';
import { decimalString, isoTime } from '../common/api.schema.js';
import { typesAgree } from '../common/type-agreement.js';
import type { QuoteDto } from './quote.mapper.js';

/** The public quote (API.md `GET /v1/quotes/{symbol}` and the stream's `quote` frames). */
export const quoteSchema = z
  .object({
    symbol: z.string(),
    bid: decimalString,
    ask: decimalString,
    bidSize: decimalString,
    askSize: decimalString,
    last: decimalString.nullable(),
    ts: isoTime.meta({ description: 'recorded market time (the replayed day for the paper venue)' }),
    ageMs: z.int(),
    source: z.string(),
  })
  .meta({ id: 'Quote' });
typesAgree<z.infer<typeof quoteSchema>, QuoteDto>(true);

/** Path parameter `symbol`: a ticker, or an OSI option symbol, padded (URL-encoded) or unpadded. */
export const symbolParam = z.string();

/** Body of `POST /v1/venues/paper/replay`. */
export const replayCommandSchema = z.strictObject({
  paused: z.boolean().optional(),
  speed: z.number().min(0).max(10_000).optional(),
  /** Process every recorded event up to and including this time of day (America/New_York). */
  stepTo: z
    .string()
    .regex(/^\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/, 'expected HH:MM:SS[.mmm]')
    .optional()
    .meta({ examples: ['09:30:05'] }),
});

/** The paper replay's state, as `GET|POST /v1/venues/paper/replay` answer it. */
export const replayStateSchema = z
  .object({
    timeOfDay: z.string().meta({ description: 'replay time of day, America/New_York' }),
    timeOfDayMs: z.int().meta({ description: 'the same, in ms after midnight' }),
    paused: z.boolean().meta({ description: 'true when paused or when the speed is 0' }),
    speed: z.number(),
    loops: z.int(),
    running: z.boolean().meta({ description: 'whether the replay timer is started' }),
  })
  .meta({ id: 'ReplayState' });
typesAgree<z.infer<typeof replayStateSchema>, ReplayState>(true);
