/**
 * The status of an order, as the public API reports it (API.md). Modelled on FIX OrdStatus (tag 39)
 * and NautilusTrader's OrderStatus; `denied` (our own pre-trade check refused it, it never left the
 * gateway) is distinct from `rejected` (the broker refused it).
 */
export const ORDER_STATUSES = [
  /** Durably recorded by the gateway; its submission to the broker may be in flight. FIX PendingNew (A). */
  'pending_new',
  /** Acknowledged by the broker and working; nothing filled yet. FIX New (0). */
  'new',
  /** Some quantity filled, the rest still working. FIX PartiallyFilled (1). */
  'partially_filled',
  /** The whole quantity filled. Terminal, except for restatement by reconciliation. FIX Filled (2). */
  'filled',
  /** A cancel was sent and is not yet confirmed; fills can still arrive. FIX PendingCancel (6). */
  'pending_cancel',
  /** Canceled at the venue; remaining quantity is zero. A late fill may still be applied. FIX Canceled (4). */
  'canceled',
  /** A cancel/replace was sent and is not yet confirmed. FIX PendingReplace (E). */
  'pending_replace',
  /** Replaced by another order (see replacedByOrderId). FIX Replaced (5). */
  'replaced',
  /** Refused by the broker. FIX Rejected (8). */
  'rejected',
  /** Refused by the gateway's own pre-trade risk check; never sent to a broker. */
  'denied',
  /** Ended by its time in force (day order at the close, IOC/FOK remainder at some venues). FIX Expired (C). */
  'expired',
  /**
   * The broker's outcome is not known (timeout, lost acknowledgement, 5xx, success without an id).
   * Never resubmitted; blocks opening orders in the symbol until reconciliation settles it.
   */
  'unknown',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses in which the order can still execute at the venue (or might: `unknown`, `pending_new`). */
export const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'pending_new',
  'new',
  'partially_filled',
  'pending_cancel',
  'pending_replace',
  'unknown',
]);

/** Acknowledged and working with nothing pending: a cancel or a replace can be sent. */
export const WORKING_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['new', 'partially_filled']);

/** Statuses whose outcome the gateway cannot vouch for until the broker confirms it. */
export const UNCERTAIN_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'pending_new',
  'pending_cancel',
  'pending_replace',
  'unknown',
]);

/** Statuses of an order that was refused: by the broker (`rejected`) or by the gateway's risk check (`denied`). */
export const REFUSED_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['rejected', 'denied']);

export function isOpenStatus(status: OrderStatus): boolean {
  return OPEN_STATUSES.has(status);
}

export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}
