import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The one decimal type of the domain: quantities, prices and money. 40 significant digits, half-even
 * rounding (banker's rounding, as FIX engines and most OMSs use for average prices).
 * Never construct from a JS number that came from arithmetic; parse decimal strings.
 */
export const Decimal = DecimalJs.clone({
  precision: 40,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Decimal = InstanceType<typeof Decimal>;

/** Decimal places kept for derived prices (average fill price, average position price). */
export const PRICE_SCALE = 10;

/** Canonical decimal string: no exponent, no trailing zeros (`"10"`, `"412.35"`, `"-3"`). */
export function toDecimalString(value: Decimal): string {
  const s = value.toFixed();
  return s === '-0' ? '0' : s;
}

/** Strict decimal syntax accepted at the edges: optional minus, digits, optional fraction. No exponent. */
export const DECIMAL_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

export function parseDecimal(text: string): Decimal {
  if (!DECIMAL_PATTERN.test(text)) {
    throw new TypeError(`not a decimal string: ${JSON.stringify(text)}`);
  }
  return new Decimal(text);
}
