import { Decimal } from '@gateway/oms';
import type { OrderStatusReport } from '../reports.js';

/**
 * How one Alpaca order status reads as ours (OrderStatusReport['status']), for reconciliation:
 * - a fixed status;
 * - `working`: the order is live at Alpaca (nothing final happened to it): `new`, or `partially_filled`
 *   once `filled_qty` is positive;
 * - `by_fills`: the day's work is over but the order is not closed: `filled` when `filled_qty` = `qty`,
 *   else as `working`.
 */
export type AlpacaStatusMapping =
  | { readonly ours: 'filled' | 'canceled' | 'expired' | 'replaced' | 'rejected' | 'new' | 'partially_filled' }
  | { readonly ours: 'working' }
  | { readonly ours: 'by_fills' };

/** One row of the table: the mapping and where Alpaca says what the status means. */
export interface AlpacaStatusRow {
  readonly mapping: AlpacaStatusMapping;
  readonly source: string;
}

const LIFECYCLE = 'alpaca-docs content/trading/orders.md, "Order Lifecycle" [P]';
const ENUM = 'alpaca-py trading/enums.py OrderStatus [L]';

/**
 * Every Alpaca order status (the 16 of the Order Lifecycle, plus `pending_review` and `held` of
 * alpaca-py's OrderStatus), onto ours. A status not in this table is never guessed: the caller logs an
 * alert (`alpaca_status_unknown`) and treats the order as unknown (AlpacaUnknownStatusError).
 */
export const ALPACA_ORDER_STATUSES = {
  new: { mapping: { ours: 'working' }, source: `${LIFECYCLE}: received and routed to exchanges` },
  partially_filled: { mapping: { ours: 'working' }, source: `${LIFECYCLE}: partially filled, still working` },
  filled: { mapping: { ours: 'filled' }, source: `${LIFECYCLE}: completely filled, no further updates` },
  done_for_day: {
    mapping: { ours: 'by_fills' },
    source: `${LIFECYCLE}: done executing for the day; a GTC order works again the next day (so not final)`,
  },
  canceled: { mapping: { ours: 'canceled' }, source: `${LIFECYCLE}: canceled, no further updates` },
  expired: { mapping: { ours: 'expired' }, source: `${LIFECYCLE}: expired by its time in force, no further updates` },
  replaced: { mapping: { ours: 'replaced' }, source: `${LIFECYCLE}: replaced by another order (its replaced_by)` },
  pending_cancel: {
    mapping: { ours: 'working' },
    source: `${LIFECYCLE}: waiting to be canceled; it can still fill until the cancel is done`,
  },
  pending_replace: {
    mapping: { ours: 'working' },
    source: `${LIFECYCLE}: waiting to be replaced; the replace may yet be refused (order_replace_rejected)`,
  },
  accepted: {
    mapping: { ours: 'new' },
    source: `${LIFECYCLE}: received by Alpaca, not yet routed (e.g. outside market hours); the order exists`,
  },
  pending_new: {
    mapping: { ours: 'new' },
    source: `${LIFECYCLE}: received and routed, not yet accepted by the exchange; the order exists`,
  },
  accepted_for_bidding: {
    mapping: { ours: 'new' },
    source: `${LIFECYCLE}: received, bidding for execution, not yet booked`,
  },
  stopped: {
    mapping: { ours: 'working' },
    source: `${LIFECYCLE}: stopped, a trade is guaranteed (usually at a stated price) but has not yet occurred`,
  },
  rejected: { mapping: { ours: 'rejected' }, source: `${LIFECYCLE}: rejected, no further updates` },
  suspended: {
    mapping: { ours: 'working' },
    source: `${LIFECYCLE}: suspended, not eligible for trading now; still open at Alpaca, not final`,
  },
  calculated: {
    mapping: { ours: 'by_fills' },
    source: `${LIFECYCLE}: completed for the day (filled or done_for_day), settlement calculations pending`,
  },
  pending_review: { mapping: { ours: 'working' }, source: `${ENUM}: held for review before it is routed` },
  held: { mapping: { ours: 'working' }, source: `${ENUM}: a leg held until its parent order fills` },
} as const satisfies Record<string, AlpacaStatusRow>;

export type AlpacaOrderStatus = keyof typeof ALPACA_ORDER_STATUSES;

/** An Alpaca status the table does not have: never guessed; the order's state is unknown. */
export class AlpacaUnknownStatusError extends Error {
  override name = 'AlpacaUnknownStatusError';
  constructor(
    readonly status: string,
    readonly orderId: string,
  ) {
    super(`alpaca order ${orderId} has status ${JSON.stringify(status)}, which the status table does not know`);
  }
}

export function isAlpacaOrderStatus(status: string): status is AlpacaOrderStatus {
  return Object.prototype.hasOwnProperty.call(ALPACA_ORDER_STATUSES, status);
}

/**
 * Our status for an Alpaca order's `status`, `qty` and `filled_qty` (decimal strings), or null when the
 * status is not in the table (the caller alerts and treats the order as unknown).
 */
export function ourStatus(status: string, qty: string, filledQty: string): OrderStatusReport['status'] | null {
  if (!isAlpacaOrderStatus(status)) {
    return null;
  }
  const mapping: AlpacaStatusMapping = ALPACA_ORDER_STATUSES[status].mapping;
  const filled = new Decimal(filledQty || '0');
  switch (mapping.ours) {
    case 'working':
      return filled.gt(0) ? 'partially_filled' : 'new';
    case 'by_fills':
      return filled.gt(0) && filled.gte(qty || '0') ? 'filled' : filled.gt(0) ? 'partially_filled' : 'new';
    case 'new':
    case 'partially_filled':
    case 'filled':
    case 'canceled':
    case 'expired':
    case 'replaced':
    case 'rejected':
      return mapping.ours;
  }
}
