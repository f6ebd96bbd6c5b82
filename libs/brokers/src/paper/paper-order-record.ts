import type { OrderSide, OrderType, TimeInForce } from '@gateway/oms';

/**
 * Status of an order in the paper venue's book (a subset of OrderStatusReport['status']).
 * - `new`, `partially_filled`: working (in the book).
 * - `filled`: done; also reached by a late fill of a canceled or replaced order.
 * - `canceled`: done, by the client, IOC/FOK, or the venue; a late fill may still add to it.
 * - `replaced`: done, replaced by a new order (CancelReplace); a late fill may still add to it.
 */
export type PaperOrderStatus = 'new' | 'partially_filled' | 'filled' | 'canceled' | 'replaced';

/** One fill of a paper order, JSON-serialisable. Decimals are canonical decimal strings. */
export interface PaperFillRecord {
  /** Unique per fill (crypto.randomUUID), the de-duplication key (FIX ExecID). */
  readonly brokerExecutionId: string;
  /** Shares or contracts. */
  readonly quantity: string;
  /** Dollars. */
  readonly price: string;
  /** Epoch ms of the recorded market time of the data event that caused the fill. */
  readonly executedAt: number;
  /** Epoch ms on the venue's own clock when the fill happened (listFills filters on it). */
  readonly reportedAt: number;
  /** `taker`: against the displayed quote at its price; `maker`: a resting limit order at its own price. */
  readonly liquidity: 'taker' | 'maker';
}

/** One fill as the venue lists it: the fill record with the order it belongs to (plain JSON). */
export interface PaperFillListing extends PaperFillRecord {
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
}

/**
 * The paper venue's record of one order: plain JSON (decimal strings, epoch ms), what a PaperVenueStore
 * saves after every change and loads to restore the book after a restart.
 */
export interface PaperOrderRecord {
  readonly brokerOrderId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: string;
  readonly limitPrice: string | null;
  readonly stopPrice: string | null;
  readonly status: PaperOrderStatus;
  readonly filledQuantity: string;
  readonly averageFillPrice: string | null;
  /** Stop / stop-limit: whether the stop has been triggered (it then works as market / limit). */
  readonly triggered: boolean;
  /** Limit orders: whether the order rests on the book, so that it fills at its own limit price. */
  readonly resting: boolean;
  /** Why the order was canceled (or what replaced it), in the venue's words; null otherwise. */
  readonly reason: string | null;
  /** Epoch ms on the venue's clock. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly fills: readonly PaperFillRecord[];
}
