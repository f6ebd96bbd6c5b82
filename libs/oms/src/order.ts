import type { Decimal } from './decimal.js';
import type { OrderStatus } from './order-status.js';

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
/** FIX TimeInForce (59): Day (0), GTC (1), IOC (3), FOK (4). */
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok';
export type PositionEffect = 'open' | 'close';
export type Environment = 'paper' | 'live';

export const ORDER_SIDES: readonly OrderSide[] = ['buy', 'sell'];
export const ORDER_TYPES: readonly OrderType[] = ['market', 'limit', 'stop', 'stop_limit'];
export const TIME_IN_FORCES: readonly TimeInForce[] = ['day', 'gtc', 'ioc', 'fok'];

export interface RejectReason {
  readonly code: string;
  readonly message: string;
}

/** An order as the domain sees it. Quantities and prices are decimals; times are epoch milliseconds. */
export interface Order {
  readonly id: string;
  readonly clientOrderId: string;
  readonly accountId: string;
  readonly environment: Environment;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly positionEffect: PositionEffect | null;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly status: OrderStatus;
  readonly filledQuantity: Decimal;
  readonly averageFillPrice: Decimal | null;
  /** Σ quantity × price of the applied fills, unrounded, so the average stays the exact rounded VWAP. */
  readonly filledNotional: Decimal;
  readonly brokerOrderId: string | null;
  readonly rejectReason: RejectReason | null;
  readonly replacesOrderId: string | null;
  readonly replacedByOrderId: string | null;
  readonly ttlMs: number | null;
  /** Epoch ms a cancel was asked for while the order was not yet acknowledged (sent once it works). */
  readonly cancelRequestedAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastSeq: number;
}

/** Whether an order of this type must / must not carry a limit and a stop price. */
export function priceFieldsFor(type: OrderType): { limit: boolean; stop: boolean } {
  switch (type) {
    case 'market':
      return { limit: false, stop: false };
    case 'limit':
      return { limit: true, stop: false };
    case 'stop':
      return { limit: false, stop: true };
    case 'stop_limit':
      return { limit: true, stop: true };
  }
}
