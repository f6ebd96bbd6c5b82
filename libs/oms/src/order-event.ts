import type { Decimal } from './decimal.js';
import type { RejectReason } from './order.js';
import { ORDER_STATUSES } from './order-status.js';

/**
 * What happened to an order, the `event` field of a stream/REST event (API.md): a status it reached, or
 * `restated` (reconciliation or a refused cancel corrected it). Every event bumps the account's `seq`.
 */
export const ORDER_EVENT_NAMES = [...ORDER_STATUSES, 'restated'] as const;

export type OrderEventName = (typeof ORDER_EVENT_NAMES)[number];

export function isOrderEventName(value: string): value is OrderEventName {
  return (ORDER_EVENT_NAMES as readonly string[]).includes(value);
}

/**
 * An order event as the transition table sees it: its kind, plus the two facts of the order a status
 * depends on. Names follow NautilusTrader's order events (OrderAccepted, OrderRejected, OrderFilled, ...).
 * - `submitted_unknown`: the submission's outcome cannot be known (timeout, 5xx, reset, no order id).
 * - `fill`: an execution; `complete` says whether it brings the cumulative quantity to the order quantity.
 * - `cancel_rejected` / `replace_rejected`: the broker refused the cancel/replace; the order goes back to
 *   what its fills make it (`new` or `partially_filled`).
 * - `rebooked`: the broker reports a working replacement booked for another quantity than the gateway has
 *   (a fill of the old order raced the replace); the status stays, the public event is `restated`.
 */
export type OrderStatusEvent =
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
  | { kind: 'rebooked' }
  | { kind: 'expired' };

export type OrderEventKind = OrderStatusEvent['kind'];

/**
 * An order event with its data: something the gateway decided or a broker reported, the input of
 * `applyOrderEvent`. `at` (epoch ms) is when the gateway recorded it (the order's `updatedAt`).
 * A `brokerOrderId` is taken only while the order has none (the first one the broker gave is kept).
 * `bookedQuantity`: what the venue booked for a replacement (new total minus what the old order had
 * filled when the venue acted), FIX OrderQty; the order's own quantity when absent. `rebooked` carries the
 * quantity the broker now reports booked, which must exceed the filled quantity.
 */
export type OrderEvent =
  | { kind: 'accepted'; at: number; brokerOrderId: string; bookedQuantity?: Decimal }
  | { kind: 'rejected'; at: number; reason: RejectReason }
  | { kind: 'submitted_unknown'; at: number }
  | {
      kind: 'fill';
      at: number;
      quantity: Decimal;
      price: Decimal;
      brokerOrderId?: string;
      bookedQuantity?: Decimal;
    }
  | { kind: 'cancel_requested'; at: number }
  | { kind: 'canceled'; at: number; brokerOrderId?: string }
  | { kind: 'cancel_rejected'; at: number }
  | { kind: 'replace_requested'; at: number; replacedByOrderId: string }
  | { kind: 'replaced'; at: number }
  | { kind: 'replace_rejected'; at: number }
  | { kind: 'rebooked'; at: number; bookedQuantity: Decimal }
  | { kind: 'expired'; at: number; brokerOrderId?: string };
