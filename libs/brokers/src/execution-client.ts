import type { Decimal, OrderSide, OrderType, TimeInForce } from '@gateway/oms';
import type { ExecutionReport, FillReport, OrderStatusReport } from './reports.js';

/** SubmitOrder: one new order to the broker. `clientOrderId` is the gateway's own order id (globally unique). */
export interface SubmitOrderCommand {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
  /**
   * Whether the order opens or closes a position, when the client said so (our API's `positionEffect`).
   * Brokers whose option orders name it (Schwab's BUY_TO_OPEN … SELL_TO_CLOSE) read it; others ignore it.
   */
  readonly positionEffect?: 'open' | 'close' | null;
}

export interface CancelOrderCommand {
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
}

/**
 * The broker's answer to a command.
 * - `accepted`: the broker took it (for a submit, with its order id).
 * - `rejected`: the broker refused it; nothing is working because of it.
 * - `unknown`: we cannot know what happened (timeout, connection error after the request may have left,
 *   5xx, success without an order id). The caller must not resend; reconciliation settles it.
 */
export type SubmitResult =
  | { readonly kind: 'accepted'; readonly brokerOrderId: string; readonly raw: unknown }
  | { readonly kind: 'rejected'; readonly reason: string; readonly raw: unknown }
  | { readonly kind: 'unknown'; readonly reason: string };

/**
 * CancelReplace (FIX OrderCancelReplaceRequest, 35=G; Alpaca `PATCH /v2/orders/{id}`): replaces a working
 * order by a new one. `quantity` is the new total of the order chain (FIX OrderQty: it includes what the
 * old order has already filled); the venue books the replacement for `quantity` minus the old order's
 * filled quantity at the moment it acts, and refuses when that is not positive. Prices not given keep the
 * old order's. The old order ends `replaced`; the replacement is a new order with its own client order id.
 */
export interface ReplaceOrderCommand {
  /** The order being replaced: the gateway's id, as sent when it was submitted. */
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  /** The replacement's client order id (the gateway's id of the new order). */
  readonly newClientOrderId: string;
  /** The new total (FIX OrderQty of a cancel/replace): the old order's fills count towards it. */
  readonly quantity: Decimal;
  /**
   * The old order's filled quantity the new total was measured against (the gateway's confirmed one);
   * 0 when absent. A broker whose replacement takes its own quantity rather than a total (Alpaca's PATCH
   * `qty`) is sent `quantity − filledQuantity`.
   */
  readonly filledQuantity?: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
}

/**
 * The broker's answer to a replace. `accepted` carries the replacement's broker order id and the quantity
 * the venue booked it for, as the broker reports it (paper: new total minus what the old order had filled
 * when the venue acted; Alpaca: the new order's `qty`); the gateway reads it back, never assumes it.
 */
export type ReplaceResult =
  | { readonly kind: 'accepted'; readonly brokerOrderId: string; readonly quantity: Decimal; readonly raw: unknown }
  | { readonly kind: 'rejected'; readonly reason: string; readonly raw: unknown }
  | { readonly kind: 'unknown'; readonly reason: string };

export type CancelResult =
  | { readonly kind: 'accepted'; readonly raw: unknown }
  | { readonly kind: 'rejected'; readonly reason: string; readonly raw: unknown }
  | { readonly kind: 'unknown'; readonly reason: string };

export type ExecutionReportListener = (report: ExecutionReport) => void;

/**
 * An account's money as its broker reports it, in USD: `cash` (settled and unsettled cash, negative when
 * borrowed), `buyingPower` (what the broker lets the account open now), `equity` (cash plus the market value
 * of the positions, as the broker values them). `asOf` is epoch ms of when the figures were read.
 */
export interface BalanceReport {
  readonly cash: Decimal;
  readonly buyingPower: Decimal;
  readonly equity: Decimal;
  readonly currency: string;
  readonly asOf: number;
}

/**
 * The adapter's connection to its broker changed: lost (`connected: false`, with why, e.g. the report
 * stream's network error), or back (`connected: true`). Told once per change, not per retry.
 */
/**
 * One position as the broker reports it, for position reconciliation. `quantity` is signed: long
 * positive, short negative, in shares or contracts (not multiplied). `symbol` is in our symbology
 * (OSI-style option symbols as the gateway stores them), whatever the broker writes.
 */
export interface PositionReport {
  readonly symbol: string;
  readonly quantity: Decimal;
  /** The broker's average entry price per share or contract, when it reports one. */
  readonly averagePrice: Decimal | null;
  /** The broker's own record, kept for the reconciliation break that cites it. */
  readonly raw: unknown;
}

export type ConnectionChange = { readonly connected: true } | { readonly connected: false; readonly reason: string };
export type ConnectionListener = (change: ConnectionChange) => void;

/**
 * The port every broker adapter implements (paper venue, Alpaca, Schwab, FIX). Adapters never throw for
 * a broker's answer: they map it to a result. They throw only for programming errors.
 */
export interface ExecutionClient {
  /**
   * Where this adapter's orders go, stored on orders, executions and reports and the metrics' `venue`
   * label: one venue per broker today, named as the broker (`paper`, `alpaca`, `schwab`).
   */
  readonly venue: string;
  /** Whether the broker accepts our client order id and can look an order up by it. */
  readonly supportsClientOrderId: boolean;
  submitOrder(command: SubmitOrderCommand, signal?: AbortSignal): Promise<SubmitResult>;
  cancelOrder(command: CancelOrderCommand, signal?: AbortSignal): Promise<CancelResult>;
  replaceOrder(command: ReplaceOrderCommand, signal?: AbortSignal): Promise<ReplaceResult>;
  /** Reconciliation: the broker's view of one order by our client order id; null when it has none. */
  getOrderByClientOrderId(clientOrderId: string): Promise<OrderStatusReport | null>;
  /** Reconciliation: orders created at or after `sinceMs` (epoch ms). */
  listOrders(sinceMs: number): Promise<OrderStatusReport[]>;
  /** Reconciliation: fills at or after `sinceMs` (epoch ms). */
  listFills(sinceMs: number): Promise<FillReport[]>;
  /** Subscribe to execution reports (acks, fills, cancels...). Returns the unsubscribe function. */
  onExecutionReport(listener: ExecutionReportListener): () => void;
  /**
   * Subscribe to the connection's changes (adapters with a connection to lose; an in-process venue has
   * none and leaves this out). Returns the unsubscribe function.
   */
  onConnectionChange?(listener: ConnectionListener): () => void;
  /**
   * The account's balances as the broker reports them (adapters whose broker has an account endpoint;
   * the others leave this out and the gateway computes them). Rejects when the broker does not answer
   * or answers something that is not an account.
   */
  balances?(signal?: AbortSignal): Promise<BalanceReport>;
  /**
   * The account's open positions as the broker reports them (position reconciliation). Rejects when the
   * broker does not answer; a flat account answers an empty list.
   */
  positions?(signal?: AbortSignal): Promise<PositionReport[]>;
}
