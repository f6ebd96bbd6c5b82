import { Decimal } from '@gateway/oms';

/** One account's pre-trade limits. Decimals, never floats. */
export interface RiskLimits {
  /** Largest quantity of one order, in shares or contracts (not multiplied). */
  readonly maxOrderQuantity: Decimal;
  /** Largest notional of one order in USD: price × quantity × multiplier (max-notional.check.ts says which price). */
  readonly maxOrderNotional: Decimal;
  /** How far a limit or stop price may be from the reference price, in percent: 5 means ±5 %. */
  readonly priceCollarPercent: Decimal;
  /** The oldest quote, in ms on the market data feed's clock, that still counts as current. */
  readonly maxQuoteAgeMs: number;
}

/**
 * Paper-trading defaults, generous enough not to get in the way of a demo and tight enough to stop a
 * fat finger:
 * - 10 000 shares or contracts and 1 000 000 USD per order;
 * - a ±10 % collar: wide enough for fast-moving SPXW options, still catches a misplaced decimal point;
 * - quotes up to 120 s old: the paper venue replays second bars for SPY but minute bars for SPXW options,
 *   so an option quote is up to 60 s old by construction and a quiet strike can miss a bar; two bars.
 *   Live accounts should use a much shorter age for equities.
 */
export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze({
  maxOrderQuantity: new Decimal('10000'),
  maxOrderNotional: new Decimal('1000000'),
  priceCollarPercent: new Decimal('10'),
  maxQuoteAgeMs: 120_000,
});
