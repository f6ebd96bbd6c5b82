import { Decimal } from '@gateway/oms';

/**
 * An account's messages and trades over one trading day (America/New_York), counted by the caller:
 * new orders, modifications (replaces), cancellations, and trades (executions). Non-negative integers.
 */
export interface OrderToTradeCounts {
  readonly orders: number;
  readonly modifications: number;
  readonly cancellations: number;
  readonly trades: number;
}

const ONE = new Decimal(1);

/**
 * The order-to-trade ratio (OTR) of the Indian exchanges, applied to the account's day:
 * (orders + modifications + cancellations) / max(trades, 1). NSE circular NSE/FA/21156 (2012) and BSE
 * notice 20120629-23: "for the purpose of calculation of Daily Order-to-Trade ratio all algo orders,
 * i.e., order entry, order modifications and order cancellations will be considered"; SEBI circulars
 * CIR/MRD/DP/09/2012 and SEBI/HO/MRD1/DSAP/CIR/P/2020/107 set the daily framework. A day without trades
 * counts as one trade (README, "Order-to-trade ratio"); that rule could not be confirmed in the exchanges' text found
 * (it keeps the ratio finite: 40 messages and no trade is 40). The exchanges' exemption of orders within
 * a band of the last traded price (±0.75 %; ±40 % or ±INR 20 for options from April 2026) is the caller's
 * to apply in the counts. Throws RangeError for a negative or fractional count (a bug).
 */
export function orderToTradeRatio(counts: OrderToTradeCounts): Decimal {
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`order-to-trade count ${name} must be a non-negative integer, got ${value}`);
    }
  }
  const messages = new Decimal(counts.orders + counts.modifications + counts.cancellations);
  return messages.dividedBy(Decimal.max(new Decimal(counts.trades), ONE));
}

/**
 * Whether the day's ratio has reached `ceiling` (`limits.maxOrderToTradeRatio`): ratio ≥ ceiling. At the
 * ceiling the account must go `reducing`, before one more message breaches it (NSE/BSE: a ratio at or
 * above the top slab, 2000 since 2020, suspends the member's orders for the first 15 minutes of the next
 * day, except in risk-reducing mode). Throws as `orderToTradeRatio`.
 */
export function otrCeilingReached(counts: OrderToTradeCounts, ceiling: Decimal): boolean {
  return orderToTradeRatio(counts).greaterThanOrEqualTo(ceiling);
}
