import { ORDER_STATUSES } from './order-status.js';

/**
 * What happened to an order, the `event` field of a stream/REST event (API.md): a status it reached, or
 * `restated` (reconciliation or a refused cancel corrected it). Every event bumps the account's `seq`.
 */
export const ORDER_EVENT_NAMES = [...ORDER_STATUSES, 'restated'] as const;

export type OrderEventName = (typeof ORDER_EVENT_NAMES)[number];

/**
 * An input to the order state machine: something the gateway decided or a broker reported.
 * Names follow NautilusTrader's order events (OrderAccepted, OrderRejected, OrderFilled, ...).
 * - `submitted_unknown`: the submission's outcome cannot be known (timeout, 5xx, reset, no order id).
 * - `fill`: an execution; `complete` says whether it brings the cumulative quantity to the order quantity.
 * - `cancel_rejected` / `replace_rejected`: the broker refused the cancel/replace; the order goes back to
 *   what its fills make it (`new` or `partially_filled`).
 */
export type OrderTrigger =
  | { kind: 'accepted' }
  | { kind: 'rejected' }
  | { kind: 'submitted_unknown' }
  | { kind: 'fill'; complete: boolean }
  | { kind: 'cancel_requested' }
  | { kind: 'canceled' }
  | { kind: 'cancel_rejected'; hasFills: boolean }
  | { kind: 'replace_requested' }
  | { kind: 'replaced' }
  | { kind: 'replace_rejected'; hasFills: boolean }
  | { kind: 'expired' };

export type OrderTriggerKind = OrderTrigger['kind'];
