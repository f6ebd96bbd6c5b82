import type { Decimal } from './decimal.js';
import type { OrderStatus } from './order-status.js';

/**
 * The broker's view of one order, as reconciliation needs it (a broker adapter's OrderStatusReport
 * satisfies it structurally). Statuses are the broker's, mapped to ours.
 */
export interface BrokerOrderEvidence {
  readonly brokerOrderId: string;
  readonly status: 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected' | 'expired' | 'replaced';
  readonly filledQuantity: Decimal;
  /** A replace of the order is under way at the broker (Schwab's PENDING_REPLACE): its outcome is not known. */
  readonly replacePending?: boolean;
}

/** One fill as the broker lists it (a FillReport satisfies it). */
export interface BrokerFillEvidence {
  readonly brokerExecutionId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly executedAt: number;
}

/** What the gateway knows of the order it reconciles. */
export interface ReconciledOrder {
  readonly status: OrderStatus;
  readonly brokerOrderId: string | null;
  /** Broker execution ids already applied to the order. */
  readonly appliedExecutionIds: ReadonlySet<string>;
}

export interface ReconciliationEvidence {
  /** The broker's view of the order (found by client order id, or by matching); null when it has none. */
  readonly order: BrokerOrderEvidence | null;
  /** The broker's fills of the order. */
  readonly fills: readonly BrokerFillEvidence[];
  /**
   * Whether "not found" is conclusive: the broker looks orders up by our client order id. Without that
   * (Schwab), absence of a match proves nothing and the order stays `unknown`.
   */
  readonly lookupIsConclusive: boolean;
  /**
   * Whether our last request about the order (submit, cancel, replace) may still be on its way to the
   * broker (inside the in-flight window): the broker's silence about it proves nothing yet.
   */
  readonly requestMayBeInFlight?: boolean;
  /**
   * For a replacement the broker cannot look up by our id: the broker's view of the order it was to
   * replace (found by that order's broker id); absent or null when not looked at or not found.
   */
  readonly replacedOrder?: BrokerOrderEvidence | null;
}

/** One correction, applied in order, each through the transition table like a broker report. */
export type ReconciliationAction =
  | { readonly kind: 'accept'; readonly brokerOrderId: string }
  | { readonly kind: 'fill'; readonly fill: BrokerFillEvidence }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'expire' }
  | { readonly kind: 'replace' }
  | { readonly kind: 'reject'; readonly code: 'broker.rejected' | 'not_submitted'; readonly message: string }
  /** A cancel the broker never acted on: the order goes back to working (`restated`). */
  | { readonly kind: 'cancel_not_applied' }
  /** A replace the broker never acted on: the order goes back to working (`restated`). */
  | { readonly kind: 'replace_not_applied' }
  /** No evidence either way: the order stays as it is, and an alert is raised. */
  | { readonly kind: 'unresolved'; readonly reason: string };

/**
 * Settles one order from broker evidence (ARCHITECTURE.md, "Placing an order", steps 4–5). Pure: the
 * caller gathers the evidence and applies the actions. The rules:
 * - an order the broker has is brought to the broker's state: its id, every fill not yet applied
 *   (fills are authoritative and de-duplicated by execution id), then its terminal state;
 * - a cancel or replace the broker shows no trace of (the order still working there) goes back to
 *   working, once the request cannot still be in flight (until then: `unresolved`, wait);
 * - `pending_new` or `unknown` that a conclusive lookup does not find was never received: `rejected`
 *   with `not_submitted` (never resubmitted under the same intent);
 * - a replacement no lookup finds, at a broker where a replace cancels the old order and creates a new one
 *   (Schwab), was never created when the old order is anything but `replaced` (or a replace still pending)
 *   there once the replace cannot still be in flight: `rejected` (the broker refused the replace, or never
 *   had it); the old order is settled from its own evidence;
 * - without a conclusive lookup nothing is decided: `unresolved`.
 */
export function reconcileOrder(order: ReconciledOrder, evidence: ReconciliationEvidence): ReconciliationAction[] {
  const found = evidence.order;
  if (!found) {
    if ((order.status === 'pending_new' || order.status === 'unknown') && evidence.lookupIsConclusive) {
      return [{ kind: 'reject', code: 'not_submitted', message: 'the broker never received the order' }];
    }
    const old = evidence.replacedOrder;
    const decided = old && old.status !== 'replaced' && old.replacePending !== true;
    if (order.status === 'unknown' && decided && !evidence.requestMayBeInFlight) {
      return [
        {
          kind: 'reject',
          code: 'broker.rejected',
          message: `the broker did not replace the order (it is ${old.status} there): the replacement was never created`,
        },
      ];
    }
    if (order.status === 'pending_new' || order.status === 'unknown') {
      return [
        { kind: 'unresolved', reason: 'the broker has no order matching it, and cannot look orders up by our id' },
      ];
    }
    return [{ kind: 'unresolved', reason: `the broker does not know an order the gateway has as ${order.status}` }];
  }
  const actions: ReconciliationAction[] = [];
  if (found.status === 'rejected') {
    return order.status === 'pending_new' ||
      order.status === 'unknown' ||
      order.status === 'new' ||
      order.status === 'pending_cancel'
      ? [{ kind: 'reject', code: 'broker.rejected', message: 'rejected by the broker (reconciliation)' }]
      : [{ kind: 'unresolved', reason: `the broker rejected an order the gateway has as ${order.status}` }];
  }
  if (order.brokerOrderId === null || order.status === 'pending_new' || order.status === 'unknown') {
    actions.push({ kind: 'accept', brokerOrderId: found.brokerOrderId });
  }
  const missing = [...evidence.fills]
    .filter((f) => !order.appliedExecutionIds.has(f.brokerExecutionId))
    .sort((a, b) => a.executedAt - b.executedAt || a.brokerExecutionId.localeCompare(b.brokerExecutionId));
  actions.push(...missing.map((fill) => ({ kind: 'fill' as const, fill })));
  switch (found.status) {
    case 'canceled':
      actions.push({ kind: 'cancel' });
      break;
    case 'expired':
      actions.push({ kind: 'expire' });
      break;
    case 'replaced':
      actions.push({ kind: 'replace' });
      break;
    case 'new':
    case 'partially_filled':
      if (order.status === 'pending_cancel' || order.status === 'pending_replace') {
        actions.push(
          evidence.requestMayBeInFlight
            ? {
                kind: 'unresolved',
                reason: `the ${order.status === 'pending_cancel' ? 'cancel' : 'replace'} may still be on its way to the broker`,
              }
            : { kind: order.status === 'pending_cancel' ? 'cancel_not_applied' : 'replace_not_applied' },
        );
      }
      break;
    case 'filled':
      break;
  }
  return actions;
}

/** A broker's order as matching needs it (an adapter's OrderStatusReport satisfies it). */
export interface BrokerOrderCandidate extends BrokerOrderEvidence {
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  /** Epoch ms the broker created the order. */
  readonly createdAt: number;
}

/** What the gateway knows of an order it looks for at a broker that cannot look orders up by our id. */
export interface MatchedOrder {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  /** Epoch ms the gateway recorded the intent (before it was sent). */
  readonly createdAt: number;
}

export type OrderMatch =
  | { readonly kind: 'matched'; readonly order: BrokerOrderCandidate }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous'; readonly count: number };

/**
 * Finds our order among a broker's orders when the broker cannot look orders up by our client order id
 * (ARCHITECTURE.md step 4: "a match on account, symbol, side, quantity, price and time window"). A candidate
 * matches on symbol, side, quantity and limit price exactly, created within `[createdAt, createdAt +
 * windowMs]`, and not claimed by another of our orders (`claimedBrokerOrderIds`). Exactly one match
 * settles the order; none or several settle nothing (the caller keeps the order `unknown` and alerts):
 * guessing between two identical orders could attribute fills to the wrong one.
 */
export function matchBrokerOrder(
  order: MatchedOrder,
  candidates: readonly BrokerOrderCandidate[],
  windowMs: number,
  claimedBrokerOrderIds: ReadonlySet<string> = new Set(),
): OrderMatch {
  const samePrice = (a: Decimal | null, b: Decimal | null) => (a === null ? b === null : b !== null && a.equals(b));
  const matches = candidates.filter(
    (c) =>
      !claimedBrokerOrderIds.has(c.brokerOrderId) &&
      c.symbol === order.symbol &&
      c.side === order.side &&
      c.quantity.equals(order.quantity) &&
      samePrice(c.limitPrice, order.limitPrice) &&
      c.createdAt >= order.createdAt &&
      c.createdAt <= order.createdAt + windowMs,
  );
  if (matches.length === 1) {
    return { kind: 'matched', order: matches[0]! };
  }
  return matches.length === 0 ? { kind: 'none' } : { kind: 'ambiguous', count: matches.length };
}
