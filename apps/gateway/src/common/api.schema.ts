import { DECIMAL_PATTERN } from '@gateway/oms';
import { z } from 'zod';

/** A decimal as the API answers it (API.md "Conventions"): a string, never a JSON number. */
export const decimalString = z.string().regex(DECIMAL_PATTERN).meta({ description: 'decimal string' });

/** A time as the API answers it (API.md "Conventions"). */
export const isoTime = z.iso.datetime().meta({ description: 'ISO-8601 UTC with milliseconds' });

export const environmentSchema = z.enum(['paper', 'live']);

/** Path parameter `accountId`: an id this API returned; any other answers 404 `account.not_found`. */
export const accountIdParam = z.uuid();
