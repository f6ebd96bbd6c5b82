import type { OrderEventKind, OrderEventName, OrderStatusEvent } from './order-event.js';
import type { OrderStatus } from './order-status.js';

type Rule = (event: OrderStatusEvent) => OrderStatus;

const fillTo =
  (partial: OrderStatus): Rule =>
  (e) =>
    e.kind === 'fill' && e.complete ? 'filled' : partial;
const backToWorking: Rule = (e) =>
  (e.kind === 'cancel_rejected' || e.kind === 'replace_rejected') && e.hasFills ? 'partially_filled' : 'new';
const to =
  (status: OrderStatus): Rule =>
  () =>
    status;

/**
 * The order state machine: for each status, the events it accepts and the status they lead to.
 * An event missing from a row is an invalid transition. Modelled on NautilusTrader's
 * `OrderStatus.transition` table, with these choices (each a real broker behaviour):
 * - a fill may precede the acknowledgement (out-of-order reports), so `pending_new` accepts fills;
 * - a late acknowledgement (after fills, cancel or replace) only records the broker order id: status unchanged;
 * - a partial fill while a cancel/replace is pending keeps it pending; a completing one makes it `filled`;
 * - a late fill after `canceled`/`expired` is applied: a completing one makes the order `filled`, a
 *   partial one leaves it `canceled`/`expired` with more filled quantity (FIX: LeavesQty stays 0);
 *   a late fill on `replaced` stays `replaced` (the quantity belongs to the old order);
 * - a cancel/replace rejected because the order filled leaves it `filled`;
 * - `new`/`partially_filled` accept `canceled` and `replaced` from the broker: an unsolicited cancel, or a
 *   cancel/replace that reconciliation gave up on (after the in-flight window) and the broker confirms late;
 *   so do `pending_cancel` and `pending_replace`, since the order given back to working may have had a new
 *   cancel or replace sent before the late confirmation comes (the broker's evidence wins; the new request
 *   then finds the order gone there);
 * - `unknown` is settled by broker evidence: an ack, a rejection, fills, a cancel or an expiry;
 * - a working replacement may be `rebooked` (its quantity restated to what the broker booked), status unchanged;
 * - `denied` accepts nothing: it never left the gateway; `rejected` accepts only broker evidence that it
 *   did reach the broker after all (a late ack or fill), which the caller reports as an alert.
 * Overfills are not transitions: the caller keeps them as evidence and raises an alert.
 */
const TABLE: Readonly<Record<OrderStatus, Partial<Readonly<Record<OrderEventKind, Rule>>>>> = {
  pending_new: {
    accepted: to('new'),
    rejected: to('rejected'),
    submitted_unknown: to('unknown'),
    fill: fillTo('partially_filled'),
    canceled: to('canceled'),
    expired: to('expired'),
  },
  new: {
    accepted: to('new'),
    rebooked: to('new'),
    rejected: to('rejected'),
    fill: fillTo('partially_filled'),
    cancel_requested: to('pending_cancel'),
    canceled: to('canceled'),
    replace_requested: to('pending_replace'),
    replaced: to('replaced'),
    expired: to('expired'),
  },
  partially_filled: {
    accepted: to('partially_filled'),
    rebooked: to('partially_filled'),
    fill: fillTo('partially_filled'),
    cancel_requested: to('pending_cancel'),
    canceled: to('canceled'),
    replace_requested: to('pending_replace'),
    replaced: to('replaced'),
    expired: to('expired'),
  },
  pending_cancel: {
    accepted: to('pending_cancel'),
    rebooked: to('pending_cancel'),
    fill: fillTo('pending_cancel'),
    // The broker refused the order itself while our cancel was on its way: Alpaca's replacement, accepted by
    // the PATCH and then rejected on the stream (the old order had filled). Nothing works any more.
    rejected: to('rejected'),
    canceled: to('canceled'),
    cancel_rejected: backToWorking,
    replaced: to('replaced'),
    expired: to('expired'),
  },
  pending_replace: {
    accepted: to('pending_replace'),
    rebooked: to('pending_replace'),
    fill: fillTo('pending_replace'),
    replaced: to('replaced'),
    replace_rejected: backToWorking,
    canceled: to('canceled'),
    expired: to('expired'),
  },
  filled: {
    accepted: to('filled'),
    cancel_rejected: to('filled'),
    replace_rejected: to('filled'),
  },
  canceled: {
    accepted: to('canceled'),
    fill: fillTo('canceled'),
  },
  expired: {
    accepted: to('expired'),
    fill: fillTo('expired'),
  },
  replaced: {
    accepted: to('replaced'),
    fill: to('replaced'),
  },
  // Broker evidence overrules a rejection we inferred (`not_submitted` after a lookup miss, or a
  // rejection the broker later contradicts): a late ack or fill restates the order, with an alert.
  rejected: {
    accepted: to('new'),
    fill: fillTo('partially_filled'),
  },
  denied: {},
  unknown: {
    accepted: to('new'),
    rejected: to('rejected'),
    fill: fillTo('partially_filled'),
    canceled: to('canceled'),
    expired: to('expired'),
  },
};

export class InvalidOrderTransitionError extends Error {
  /**
   * @deprecated Read `event`: the state machine's input is an event (docs/architecture.md, "Words").
   * The same object, kept under the name older callers read.
   */
  readonly trigger: OrderStatusEvent;

  constructor(
    readonly from: OrderStatus,
    readonly event: OrderStatusEvent,
  ) {
    super(`invalid order transition: ${from} --${event.kind}-->`);
    this.name = 'InvalidOrderTransitionError';
    this.trigger = event;
  }
}

/** The status `event` leads to from `from`, or `null` when the table does not allow it. */
export function nextStatus(from: OrderStatus, event: OrderStatusEvent): OrderStatus | null {
  const rule = TABLE[from][event.kind];
  return rule ? rule(event) : null;
}

/** The status `event` leads to from `from`. Throws InvalidOrderTransitionError when not allowed. */
export function transition(from: OrderStatus, event: OrderStatusEvent): OrderStatus {
  const next = nextStatus(from, event);
  if (next === null) {
    throw new InvalidOrderTransitionError(from, event);
  }
  return next;
}

/** The public event name (API.md `event`) that an event produces: what happened, not the new status. */
export function eventNameFor(event: OrderStatusEvent): OrderEventName {
  switch (event.kind) {
    case 'accepted':
      return 'new';
    case 'rejected':
      return 'rejected';
    case 'submitted_unknown':
      return 'unknown';
    case 'fill':
      return event.complete ? 'filled' : 'partially_filled';
    case 'cancel_requested':
      return 'pending_cancel';
    case 'canceled':
      return 'canceled';
    case 'cancel_rejected':
    case 'replace_rejected':
    case 'rebooked':
      return 'restated';
    case 'replace_requested':
      return 'pending_replace';
    case 'replaced':
      return 'replaced';
    case 'expired':
      return 'expired';
  }
}
