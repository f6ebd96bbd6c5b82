/**
 * Bits of Lean's `TradeConditionFlags` (Common/Data/Auxiliary/TradeConditionFlags.cs; the tick file's
 * `sale_condition` column is that flag set in hex) whose prints are not a trade at the prevailing market:
 * reference values (official open/close), prints reported late or out of sequence, and prices not based
 * on the quote at the time (average price, derivatively priced, prior reference price). Such prints
 * neither set `last` nor fill resting orders in the paper venue, as under the CTA/UTP last-sale rules.
 */
const NOT_LAST_SALE_ELIGIBLE_BITS = [
  9, // DerivativelyPriced
  11, // Sold (reported late)
  14, // OutOfSequence
  20, // AveragePrice
  24, // OfficialClose
  25, // PriorReferencePrice
  26, // OfficialOpen
] as const;

const HEX = /^[0-9A-Fa-f]{1,8}$/;

/**
 * Whether a print with this Lean sale condition (hex flag string, e.g. `"20000020"`) is a trade at the
 * market that can set the last price and fill resting orders. An empty or malformed condition counts as
 * regular (the flags are informational; a missing one should not hide a real trade).
 */
export function isLastSaleEligible(saleCondition: string): boolean {
  if (!HEX.test(saleCondition)) {
    return true;
  }
  const flags = Number.parseInt(saleCondition, 16);
  // Arithmetic, not bitwise: flags go up to bit 31 and JS bitwise operators are signed 32-bit.
  return NOT_LAST_SALE_ELIGIBLE_BITS.every((bit) => Math.floor(flags / 2 ** bit) % 2 === 0);
}
