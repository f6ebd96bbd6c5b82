import { type Decimal } from '@gateway/oms';
import type { OrderStatusReport } from '../reports.js';

/**
 * How one Schwab order status reads as ours (OrderStatusReport['status']), for reconciliation:
 * - a fixed status;
 * - `working`: the order is live at Schwab and may still fill: `new`, or `partially_filled` once
 *   `filledQuantity` is positive;
 * - `unknown`: Schwab itself does not know; never guessed (the caller alerts and the order stays unknown).
 */
export type SchwabStatusMapping =
  | { readonly ours: 'filled' | 'canceled' | 'expired' | 'replaced' | 'rejected' }
  | { readonly ours: 'working' }
  | { readonly ours: 'unknown' };

/** One row of the table: the mapping and where Schwab says what the status is. */
export interface SchwabStatusRow {
  readonly mapping: SchwabStatusMapping;
  readonly source: string;
}

const SPEC = 'Schwab Trader API spec, Order.status enum (PROTOCOLS.md A3) [P]';
const WORKING = { ours: 'working' } as const;

/**
 * Every one of Schwab's 21 order statuses (docs/brokers/schwab.md, "Statuses", and
 * ../shared/brokers/README.md), onto ours. Schwab documents the names only, not their meaning; a status
 * whose meaning is not certain is read as the one that can still fill (`working`): an order taken for
 * done that then fills is worse than an order taken for working that is done. A status not in this table
 * is never guessed: the caller logs the alert `schwab_status_unknown` and treats the order as unknown.
 */
export const SCHWAB_ORDER_STATUSES = {
  AWAITING_PARENT_ORDER: { mapping: WORKING, source: `${SPEC}: a child order waiting for its parent; may yet fill` },
  AWAITING_CONDITION: { mapping: WORKING, source: `${SPEC}: a conditional order waiting for its condition` },
  AWAITING_STOP_CONDITION: { mapping: WORKING, source: `${SPEC}: a stop order waiting for its stop price` },
  AWAITING_MANUAL_REVIEW: { mapping: WORKING, source: `${SPEC}: held for review at Schwab before routing` },
  ACCEPTED: { mapping: WORKING, source: `${SPEC}: taken by Schwab, not yet working at the exchange` },
  AWAITING_UR_OUT: {
    mapping: WORKING,
    source: `${SPEC}: waiting for the exchange's "UR out" (the cancel confirmation); it may still fill`,
  },
  PENDING_ACTIVATION: { mapping: WORKING, source: `${SPEC}: entered, waiting to be activated (e.g. the session)` },
  QUEUED: { mapping: WORKING, source: `${SPEC}: queued for routing (e.g. entered outside market hours)` },
  WORKING: { mapping: WORKING, source: `${SPEC}: working at the exchange` },
  REJECTED: { mapping: { ours: 'rejected' }, source: `${SPEC}: rejected; nothing works` },
  PENDING_CANCEL: { mapping: WORKING, source: `${SPEC}: a cancel was asked for; the order may still fill` },
  CANCELED: { mapping: { ours: 'canceled' }, source: `${SPEC}: canceled (a late fill may still be reported)` },
  PENDING_REPLACE: { mapping: WORKING, source: `${SPEC}: a replace was asked for; the order may still fill` },
  REPLACED: {
    mapping: { ours: 'replaced' },
    source: `${SPEC}; PUT cancels the old order and creates a new one (README "Charles Schwab") [P]`,
  },
  FILLED: { mapping: { ours: 'filled' }, source: `${SPEC}: completely filled` },
  EXPIRED: { mapping: { ours: 'expired' }, source: `${SPEC}: ended by its duration` },
  NEW: { mapping: WORKING, source: `${SPEC}: entered, not yet acknowledged` },
  AWAITING_RELEASE_TIME: { mapping: WORKING, source: `${SPEC}: waiting for its release time` },
  PENDING_ACKNOWLEDGEMENT: { mapping: WORKING, source: `${SPEC}: sent, not yet acknowledged by the exchange` },
  PENDING_RECALL: { mapping: WORKING, source: `${SPEC}: being recalled; the order may still fill` },
  UNKNOWN: {
    mapping: { ours: 'unknown' },
    source: `${SPEC}: Schwab does not know the order's state: never guessed, alert and unknown`,
  },
} as const satisfies Record<string, SchwabStatusRow>;

export type SchwabOrderStatus = keyof typeof SCHWAB_ORDER_STATUSES;

/** A Schwab status the table does not map (or Schwab's own UNKNOWN): never guessed; the order's state is unknown. */
export class SchwabUnknownStatusError extends Error {
  override name = 'SchwabUnknownStatusError';
  constructor(
    readonly status: string,
    readonly orderId: string,
  ) {
    super(`schwab order ${orderId} has status ${JSON.stringify(status)}, which the status table does not settle`);
  }
}

export function isSchwabOrderStatus(status: string): status is SchwabOrderStatus {
  return Object.prototype.hasOwnProperty.call(SCHWAB_ORDER_STATUSES, status);
}

/**
 * Our status for a Schwab order's `status` and `filledQuantity`, or null when the status is not in the
 * table or is Schwab's UNKNOWN (the caller alerts and treats the order as unknown).
 */
export function schwabOurStatus(status: string, filledQuantity: Decimal): OrderStatusReport['status'] | null {
  if (!isSchwabOrderStatus(status)) {
    return null;
  }
  const mapping: SchwabStatusMapping = SCHWAB_ORDER_STATUSES[status].mapping;
  switch (mapping.ours) {
    case 'working':
      return filledQuantity.gt(0) ? 'partially_filled' : 'new';
    case 'unknown':
      return null;
    case 'filled':
    case 'canceled':
    case 'expired':
    case 'replaced':
    case 'rejected':
      return mapping.ours;
  }
}
