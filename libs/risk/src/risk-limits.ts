import { Decimal } from '@gateway/oms';

/**
 * One account's pre-trade limits. Decimals, never floats. The four required limits apply to every
 * order; each optional one switches its check on (undefined: the check approves everything), so
 * callers that do not set them keep their behaviour.
 */
export interface RiskLimits {
  /** Largest quantity of one order, in shares or contracts (not multiplied). */
  readonly maxOrderQuantity: Decimal;
  /** Largest notional of one order in USD: price × quantity × multiplier (max-notional.check.ts says which price). */
  readonly maxOrderNotional: Decimal;
  /**
   * How far a limit price (and a stop price that would trigger at once) may be from the reference price,
   * in percent: 5 means ±5 %. See `priceCollarAbsolute` and `productCollars`, and price-collar.check.ts for stops.
   */
  readonly priceCollarPercent: Decimal;
  /** The oldest quote, in ms on the market data feed's clock, that still counts as current. */
  readonly maxQuoteAgeMs: number;
  /**
   * The instruments this account may trade. An entry is an equity ticker, matched exactly (`SPY`), or
   * `root:<ROOT>` for every option on that OSI root (`root:SPXW`; `root:SPY` does not allow SPY shares).
   * An empty list allows nothing. See instrument-allowed.check.ts for exits.
   */
  readonly allowedSymbols?: readonly string[];
  /** Largest absolute position per symbol, in shares or contracts, with working orders at their worst case. */
  readonly maxPositionQuantity?: Decimal;
  /** Largest gross exposure of the account in USD: positions plus working orders plus the order. */
  readonly maxGrossExposure?: Decimal;
  /** Most working orders of the account at once, all symbols. */
  readonly maxWorkingOrders?: number;
  /** An order identical to an accepted one at most this many ms older is a duplicate. */
  readonly duplicateWindowMs?: number;
  /** Most messages (orders, replaces, cancels) in any second; keep it under the broker's own limit. */
  readonly maxMessagesPerSecond?: number;
  /** Most messages in any minute, per account; keep the accounts' sum under the broker's (Schwab: 120 per minute per app). */
  readonly maxMessagesPerMinute?: number;
  /** Largest loss of the day in USD, a positive amount: at realized + unrealized ≤ −maxDailyLoss only exits pass. */
  readonly maxDailyLoss?: Decimal;
  /** false: `market` and `stop` orders are denied (send marketable limits instead). Undefined: allowed. */
  readonly allowMarketOrders?: boolean;
  /**
   * The collar's floor in USD per share or contract (before the multiplier): the collar's half-width is
   * max(reference × priceCollarPercent / 100, priceCollarAbsolute), percent or absolute, whichever is
   * wider (FIA price bands), so a cheap option is not collared to a fraction of its tick (±10 % of a 0.20
   * SPXW put is 0.02, less than its 0.05 tick). Undefined: 0, the percent alone.
   */
  readonly priceCollarAbsolute?: Decimal;
  /**
   * Collars per product key (`root:SPXW`, `SPY`: the `allowedSymbols` spelling, see `productKey` in
   * @gateway/oms), each replacing both `priceCollarPercent` and `priceCollarAbsolute` for that product.
   * `absolute` in USD per share or contract; 0 for none.
   */
  readonly productCollars?: Readonly<Record<string, { readonly percent: Decimal; readonly absolute: Decimal }>>;
  /**
   * How far a stop price on its protective side (a buy stop above the reference price, a sell stop below
   * it: it rests until the market moves to it) may be from the reference price, in percent; the absolute
   * floor of the product's collar applies too. Undefined: not bounded on that side. A stop on the other
   * side would trigger at once and is held to the regular collar (price-collar.check.ts).
   */
  readonly stopCollarPercent?: Decimal;
  /**
   * Largest unrealized loss of one position in USD, a positive amount: once quantity × (mark − average
   * price) × multiplier ≤ −maxPositionLoss, only orders that reduce that position are accepted in its
   * symbol (position-loss.check.ts). May be tightened after an entry, never widened (`lossLimitWidenings`).
   */
  readonly maxPositionLoss?: Decimal;
  /**
   * Minutes before an option's trading end (`expiryTradingEnd` in @gateway/oms) from which opening orders
   * in it are denied on its last trading day (0DTE); exits pass (expiry.check.ts). Undefined: no cutoff.
   */
  readonly zeroDteCutoffMinutes?: number;
  /**
   * Highest order-to-trade ratio of the trading day (`orderToTradeRatio`, NSE/BSE OTR). Not an engine
   * check: the gateway moves the account to `reducing` when `otrCeilingReached`.
   */
  readonly maxOrderToTradeRatio?: Decimal;
}

/**
 * Paper-trading defaults, generous enough not to get in the way of a demo and tight enough to stop a
 * fat finger:
 * - 10 000 shares or contracts and 1 000 000 USD per order;
 * - a ±10 % collar: wide enough for fast-moving SPXW options, still catches a misplaced decimal point;
 * - quotes up to 120 s old: the paper venue replays second bars for SPY but minute bars for SPXW options,
 *   so an option quote is up to 60 s old by construction and a quiet strike can miss a bar; two bars.
 *   Live accounts should use a much shorter age for equities.
 * The optional account-level limits are off: they need per-account values and context the caller gathers.
 */
export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze({
  maxOrderQuantity: new Decimal('10000'),
  maxOrderNotional: new Decimal('1000000'),
  priceCollarPercent: new Decimal('10'),
  maxQuoteAgeMs: 120_000,
});
