import { Decimal, DECIMAL_PATTERN } from '@gateway/oms';
import { z } from 'zod';

const MAX_INTEGER_DIGITS = 12;
const MAX_FRACTION_DIGITS = 9;

/** A positive decimal string (`"10"`, `"412.35"`): never a JSON number, no exponent, bounded size. */
export const positiveDecimal = z
  .string({ error: 'must be a decimal string, e.g. "10" or "412.35"' })
  .regex(DECIMAL_PATTERN, 'must be a decimal string, e.g. "10" or "412.35"')
  .refine(
    (s) => DECIMAL_PATTERN.test(s) && !s.startsWith('-') && new Decimal(s).greaterThan(0),
    'must be greater than zero',
  )
  .refine((s) => {
    const [int = '', frac = ''] = s.split('.');
    return int.length <= MAX_INTEGER_DIGITS && frac.length <= MAX_FRACTION_DIGITS;
  }, `at most ${MAX_INTEGER_DIGITS} integer and ${MAX_FRACTION_DIGITS} fractional digits`);
