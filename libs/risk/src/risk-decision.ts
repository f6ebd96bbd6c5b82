/**
 * Stable error codes of risk denials (API.md: `422 risk.<check>`), one per check. Clients match on
 * these; never rename one, only add.
 */
export const RISK_CODES = [
  /** The account is halted: nothing is accepted. */
  'risk.trading_halted',
  /** The account is reducing, or its entries are blocked, and the order does not reduce its position. */
  'risk.entries_blocked',
  /** No current quote for the symbol (missing, too old, or without a usable price). */
  'risk.stale_market_data',
  /** The order's quantity is above the per-order maximum. */
  'risk.max_quantity',
  /** The order's notional (USD) is above the per-order maximum. */
  'risk.max_notional',
  /** The order's limit or stop price is too far from the reference price. */
  'risk.price_collar',
  /** The instrument is not on the account's allow-list, and the order is not an exit. */
  'risk.instrument_not_allowed',
  /** The order could take the position in its symbol beyond the per-symbol maximum (working orders counted). */
  'risk.max_position',
  /** The account's gross exposure (USD) with the order would be above the maximum. */
  'risk.max_gross_exposure',
  /** The account already has the maximum number of working orders. */
  'risk.max_working_orders',
  /** An identical order was accepted within the duplicate window. */
  'risk.duplicate_order',
  /** One more message would exceed the messages-per-second or per-minute limit. */
  'risk.message_rate',
  /** The day's loss reached the limit, and the order does not reduce the position. */
  'risk.daily_loss',
  /** An order marked to close does not reduce the confirmed position, counting the other working exits. */
  'risk.reduce_only',
  /** The account does not accept market or stop orders. */
  'risk.market_orders_not_allowed',
  /** An option on a root that is not a supported product (`productOf` is null), and the order is not an exit. */
  'risk.unknown_product',
  /** The option can no longer trade: its last trading day's session has ended (`expiryTradingEnd`). */
  'risk.instrument_expired',
  /** An opening order in an option within `zeroDteCutoffMinutes` of its trading end on its last day. */
  'risk.opening_cutoff',
  /** A limit or stop price that is not a whole number of the product's ticks at that price. */
  'risk.tick_size',
  /** The position in the symbol has lost `maxPositionLoss` or more, and the order does not reduce it. */
  'risk.max_position_loss',
  /** A change of the limits would widen a loss limit (used by the gateway on PUT limits, not by a check). */
  'risk.loss_limit_widening',
  /**
   * Reconciliation found the position in the symbol differs from the broker's, and the order does not
   * reduce both positions: entries wait for a clean pass or risk staff's acknowledgement of the break.
   */
  'risk.position_break',
] as const;

export type RiskCode = (typeof RISK_CODES)[number];

/** The outcome of a pre-trade check: an expected result, not an exception. `reason` is for humans. */
export type RiskDecision =
  { readonly kind: 'approved' } | { readonly kind: 'denied'; readonly code: RiskCode; readonly reason: string };

export const APPROVED: RiskDecision = Object.freeze({ kind: 'approved' });

export function deny(code: RiskCode, reason: string): RiskDecision {
  return { kind: 'denied', code, reason };
}
