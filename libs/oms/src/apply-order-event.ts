import { applyFill } from './fills.js';
import type { Order } from './order.js';
import type { OrderEvent, OrderEventName, OrderStatusEvent } from './order-event.js';
import type { OrderStatus } from './order-status.js';
import { eventNameFor, nextStatus } from './transition.js';

/**
 * The outcome of applying an event to an order:
 * - `applied`: the order after the event, and the public event to record (`eventName`); `eventName` is
 *   null for the one change that is recorded without an event: a cancel asked for before the broker
 *   acknowledged the order (`pending_new`, `unknown`) is held on the order (`cancelRequestedAt`) and sent
 *   once it works, status, `updatedAt` and `seq` unchanged (README, "The order path");
 * - `invalid`: nothing changes. `not_allowed`: the transition table refuses the event from `from`;
 *   `overfill`: a fill would take the filled quantity past the order quantity (keep it as evidence, alert).
 */
export type OrderEventOutcome =
  | { readonly kind: 'applied'; readonly order: Order; readonly eventName: OrderEventName | null }
  | {
      readonly kind: 'invalid';
      readonly from: OrderStatus;
      readonly event: OrderEvent;
      readonly reason: 'not_allowed' | 'overfill';
    };

/** Statuses in which the broker has not acknowledged the order yet: a cancel is held, not sent. */
const CANCEL_HELD_IN: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['pending_new', 'unknown']);

/**
 * Applies one event to an order: the status through the transition table (`nextStatus`), and every field
 * the event changes (broker order id, a replacement's booked quantity, fills and their average price,
 * reject reason, cancel requested, the replacing order's id, `updatedAt`). Pure: the input is not
 * modified. Modelled on NautilusTrader's `Order.apply(event)`. Throws RangeError for a fill with a
 * non-positive quantity or price (a broker report that cannot be trusted).
 */
export function applyOrderEvent(order: Order, event: OrderEvent): OrderEventOutcome {
  const invalid = (reason: 'not_allowed' | 'overfill'): OrderEventOutcome => ({
    kind: 'invalid',
    from: order.status,
    event,
    reason,
  });
  if (event.kind === 'cancel_requested' && CANCEL_HELD_IN.has(order.status)) {
    const held = order.cancelRequestedAt === null ? { ...order, cancelRequestedAt: event.at } : order;
    return { kind: 'applied', order: held, eventName: null };
  }
  const hasFills = order.filledQuantity.greaterThan(0);
  const keepBrokerOrderId = (id: string | undefined) => order.brokerOrderId ?? id ?? null;
  let statusEvent: OrderStatusEvent;
  let changed: Partial<Order>;
  switch (event.kind) {
    case 'accepted':
      statusEvent = { kind: 'accepted' };
      changed = {
        brokerOrderId: keepBrokerOrderId(event.brokerOrderId),
        quantity: event.bookedQuantity ?? order.quantity,
      };
      break;
    case 'fill': {
      const quantity = event.bookedQuantity ?? order.quantity;
      const fill = applyFill({ ...order, quantity }, event.quantity, event.price);
      if (fill.overfill) {
        return invalid('overfill');
      }
      statusEvent = { kind: 'fill', complete: fill.complete };
      changed = {
        quantity,
        filledQuantity: fill.filledQuantity,
        averageFillPrice: fill.averageFillPrice,
        filledNotional: fill.filledNotional,
        brokerOrderId: keepBrokerOrderId(event.brokerOrderId),
      };
      break;
    }
    case 'rejected':
      statusEvent = { kind: 'rejected' };
      changed = { rejectReason: event.reason };
      break;
    case 'cancel_requested':
      statusEvent = { kind: 'cancel_requested' };
      changed = { cancelRequestedAt: null };
      break;
    case 'canceled':
    case 'expired':
      statusEvent = { kind: event.kind };
      changed = { brokerOrderId: keepBrokerOrderId(event.brokerOrderId) };
      break;
    case 'cancel_rejected':
      statusEvent = { kind: 'cancel_rejected', hasFills };
      changed = {};
      break;
    case 'replace_requested':
      statusEvent = { kind: 'replace_requested' };
      changed = { replacedByOrderId: event.replacedByOrderId };
      break;
    case 'replace_rejected':
      statusEvent = { kind: 'replace_rejected', hasFills };
      changed = { replacedByOrderId: null };
      break;
    case 'rebooked':
      if (!event.bookedQuantity.greaterThan(order.filledQuantity)) {
        return invalid('not_allowed'); // a booking at or below the filled quantity is no working order
      }
      statusEvent = { kind: 'rebooked' };
      changed = { quantity: event.bookedQuantity };
      break;
    case 'submitted_unknown':
    case 'replaced':
      statusEvent = { kind: event.kind };
      changed = {};
      break;
  }
  const status = nextStatus(order.status, statusEvent);
  if (status === null) {
    return invalid('not_allowed');
  }
  return {
    kind: 'applied',
    order: { ...order, ...changed, status, updatedAt: event.at },
    eventName: eventNameFor(statusEvent),
  };
}
