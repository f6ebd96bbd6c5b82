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
   * The kill switch (globally or per account): new entries are blocked at once and working orders are
   * cancelled; exits stay possible, but only as bounded marketable limits: a `limit` order that reduces
   * the position without flipping it, its limit price within the price collar around a current quote
   * (trading-state.check.ts). Market, stop and unbounded exits are denied. Cancels stay possible, they
   * are not orders.
   */
  'halted',
] as const;

export type TradingState = (typeof TRADING_STATES)[number];

export function isTradingState(value: string): value is TradingState {
  return (TRADING_STATES as readonly string[]).includes(value);
}

const RANK: Readonly<Record<TradingState, number>> = { active: 0, reducing: 1, halted: 2 };

/**
 * The more restrictive of two trading states (halted over reducing over active): an account's
 * effective state under a global one.
 */
export function mostRestrictive(a: TradingState, b: TradingState): TradingState {
  return RANK[a] >= RANK[b] ? a : b;
}
