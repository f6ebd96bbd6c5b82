import type { Decimal, OrderSide, OrderType, TimeInForce } from '@gateway/oms';

/**
 * What a broker says about one order, as FIX ExecutionReport (35=8) does. `execType` (FIX ExecType, 150)
 * says what this report is about; the cumulative fields are the broker's view after it.
 * `clientOrderId` is the id the gateway sent (its own order id), so reports map to orders directly.
 */
export type ExecType = 'new' | 'trade' | 'canceled' | 'rejected' | 'expired' | 'replaced' | 'pending_cancel';

export interface Execution {
  /** The broker's execution id (FIX ExecID, 17): unique per fill, the de-duplication key. */
  readonly brokerExecutionId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
  /** Epoch ms of the execution at the venue (for the paper venue: the recorded market time). */
  readonly executedAt: number;
}

export interface ExecutionReport {
  readonly venue: string;
  readonly execType: ExecType;
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  /** FIX CumQty (14) after this report. */
  readonly cumulativeQuantity: Decimal;
  /** FIX LeavesQty (151) after this report. */
  readonly leavesQuantity: Decimal;
  /** Present when execType is `trade`. */
  readonly execution?: Execution;
  /** For `rejected`/`canceled`/`expired`: why, in the broker's words. */
  readonly reason?: string;
  /** Epoch ms the venue stamped on the report. */
  readonly transactTime: number;
  /** The broker's payload as received, kept verbatim as audit evidence. */
  readonly raw: unknown;
}

/** The broker's view of one order, for reconciliation (NautilusTrader's OrderStatusReport). */
export interface OrderStatusReport {
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly status: 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected' | 'expired' | 'replaced';
  readonly filledQuantity: Decimal;
  readonly averageFillPrice: Decimal | null;
  readonly createdAt: number;
  /** The broker shows a replace of this order under way (Schwab's PENDING_REPLACE); absent when not. */
  readonly replacePending?: boolean;
  /** The broker id of the order that replaced this one, where the broker names it (Schwab's `replacingOrderCollection`). */
  readonly replacedByBrokerOrderId?: string;
  readonly raw: unknown;
}

/** One fill as the broker lists it (NautilusTrader's FillReport). */
export interface FillReport extends Execution {
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly raw: unknown;
}

export type { OrderSide, OrderType, TimeInForce };
