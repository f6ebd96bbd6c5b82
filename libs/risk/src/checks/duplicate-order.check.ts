import { priceFieldsFor, toDecimalString, type Decimal } from '@gateway/oms';
import { limitPriceOf, stopPriceOf, type OrderIntent } from '../order-intent.js';
import type { RecentOrder, RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/**
 * Duplicate-order guard (SEC Rule 15c3-5(c)(1)(ii): reject orders "that indicate duplicative orders";
 * a double click or a retry loop sending the same order twice). An order is a duplicate of an accepted
 * order in `context.recentOrders` created at most `limits.duplicateWindowMs` before `context.now` (an
 * age exactly at the window counts; a negative age, clock skew between instances, counts too) with the
 * same symbol, side, type, quantity and prices (limit and stop, as the type uses them; two market
 * orders are equal). Exits included: a doubled exit can flip the position. A client that means it
 * sends it again after the window, or with another quantity or price. Idempotent retries (same
 * clientOrderId) never get here. Off when the limit, `recentOrders` or `now` is undefined.
 * Denial: `risk.duplicate_order`.
 */
export function duplicateOrderCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const window = limits.duplicateWindowMs;
  const { recentOrders, now } = context;
  if (window === undefined || recentOrders === undefined || now === undefined) {
    return APPROVED;
  }
  const limit = limitPriceOf(intent);
  const stop = stopPriceOf(intent);
  for (const recent of recentOrders) {
    const age = now - recent.createdAt;
    if (age <= window && isSameOrder(intent, limit, stop, recent)) {
      return deny(
        'risk.duplicate_order',
        `an identical order (${describe(intent, limit, stop)}) was accepted ${age} ms ago, within the duplicate ` +
          `window of ${window} ms: send it again after the window if it is meant`,
      );
    }
  }
  return APPROVED;
}

function isSameOrder(intent: OrderIntent, limit: Decimal | null, stop: Decimal | null, recent: RecentOrder): boolean {
  if (
    recent.symbol !== intent.symbol ||
    recent.side !== intent.side ||
    recent.type !== intent.type ||
    !recent.quantity.equals(intent.quantity)
  ) {
    return false;
  }
  const fields = priceFieldsFor(recent.type);
  return (
    samePrice(limit, fields.limit ? recent.limitPrice : null) && samePrice(stop, fields.stop ? recent.stopPrice : null)
  );
}

function samePrice(a: Decimal | null, b: Decimal | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function describe(intent: OrderIntent, limit: Decimal | null, stop: Decimal | null): string {
  const prices = [
    stop === null ? '' : ` stop ${toDecimalString(stop)}`,
    limit === null ? '' : ` limit ${toDecimalString(limit)}`,
  ];
  const market = limit === null && stop === null ? ' at market' : '';
  return `${intent.side} ${toDecimalString(intent.quantity)} ${intent.symbol}${market}${prices.join('')}`;
}
