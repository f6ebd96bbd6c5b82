/**
 * What an account is allowed to trade (ARCHITECTURE.md "Trading authority"; NautilusTrader's
 * `TradingState`). Set by risk staff, the kill switch, or the gateway itself; checked before every order.
 */
export const TRADING_STATES = [
  /** Normal trading: an order is subject only to the other pre-trade checks. */
  'active',
  /**
   * Only orders that reduce an existing position, without flipping it, are accepted (an account wound
   * down after a loss limit, or by risk staff). Opening, increasing and flipping orders are denied.
   */
  'reducing',
  /**
   * No new orders at all, exits included. The kill switch sets it (globally or per account) and also
   * cancels working orders; cancels stay possible, they are not orders.
   */
  'halted',
] as const;

export type TradingState = (typeof TRADING_STATES)[number];

export function isTradingState(value: string): value is TradingState {
  return (TRADING_STATES as readonly string[]).includes(value);
}
