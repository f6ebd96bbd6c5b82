import {
  Decimal,
  leavesQuantity,
  type Order,
  type OrderSide,
  type OrderStatus,
  type OrderType,
  isOpenStatus,
  type PositionEffect,
  type TimeInForce,
  toDecimalString,
} from '@gateway/oms';
import type { Position } from '@gateway/oms';
import type { OrderEntity } from '../database/entities.js';
import type { ExecutionRecord } from './persistence/execution.repository.js';

/** The public Order (API.md). Decimals are strings, times ISO-8601 UTC with milliseconds. */
export interface OrderDto {
  id: string;
  clientOrderId: string;
  accountId: string;
  environment: 'paper' | 'live';
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  positionEffect: PositionEffect | null;
  quantity: string;
  limitPrice: string | null;
  stopPrice: string | null;
  status: OrderStatus;
  filledQuantity: string;
  leavesQuantity: string;
  averageFillPrice: string | null;
  brokerOrderId: string | null;
  rejectReason: { code: string; message: string } | null;
  replacesOrderId: string | null;
  replacedByOrderId: string | null;
  ttlMs: number | null;
  /** Set when a cancel was asked for before the broker acknowledged the order; it is sent once it works. */
  cancelRequestedAt: string | null;
  createdAt: string;
  updatedAt: string;
  lastSeq: number;
}

/** The public Execution (API.md). */
export interface ExecutionDto {
  id: string;
  orderId: string;
  brokerExecutionId: string;
  symbol: string;
  side: OrderSide;
  quantity: string;
  price: string;
  executedAt: string;
}

export interface PositionDto {
  symbol: string;
  quantity: string;
  averagePrice: string;
  realizedPnl: string;
  /** quantity × mark × multiplier at the current quote (USD); null without a current quote. */
  marketValue: string | null;
  /** (mark − averagePrice) × quantity × multiplier (USD); null without a current quote. */
  unrealizedPnl: string | null;
}

const dec = (v: string | null): Decimal | null => (v === null ? null : new Decimal(v));
const str = (v: Decimal | null): string | null => (v === null ? null : toDecimalString(v));

export function toDomainOrder(e: OrderEntity): Order {
  return {
    id: e.id,
    clientOrderId: e.clientOrderId,
    accountId: e.accountId,
    environment: e.environment,
    symbol: e.symbol,
    side: e.side as OrderSide,
    type: e.type as OrderType,
    timeInForce: e.timeInForce as TimeInForce,
    positionEffect: e.positionEffect as PositionEffect | null,
    quantity: new Decimal(e.quantity),
    limitPrice: dec(e.limitPrice),
    stopPrice: dec(e.stopPrice),
    status: e.status as OrderStatus,
    filledQuantity: new Decimal(e.filledQuantity),
    averageFillPrice: dec(e.averageFillPrice),
    filledNotional: new Decimal(e.filledNotional),
    brokerOrderId: e.brokerOrderId,
    rejectReason:
      e.rejectReasonCode === null ? null : { code: e.rejectReasonCode, message: e.rejectReasonMessage ?? '' },
    replacesOrderId: e.replacesOrderId,
    replacedByOrderId: e.replacedByOrderId,
    ttlMs: e.ttlMs,
    cancelRequestedAt: e.cancelRequestedAt?.getTime() ?? null,
    createdAt: e.createdAt.getTime(),
    updatedAt: e.updatedAt.getTime(),
    lastSeq: Number(e.lastSeq),
  };
}

export function toOrderEntityFields(o: Order): Partial<OrderEntity> {
  return {
    status: o.status,
    // A replacement's quantity is restated to what the venue booked (new total minus the filled quantity).
    quantity: toDecimalString(o.quantity),
    filledQuantity: toDecimalString(o.filledQuantity),
    averageFillPrice: str(o.averageFillPrice),
    filledNotional: toDecimalString(o.filledNotional),
    brokerOrderId: o.brokerOrderId,
    rejectReasonCode: o.rejectReason?.code ?? null,
    rejectReasonMessage: o.rejectReason?.message ?? null,
    replacesOrderId: o.replacesOrderId,
    replacedByOrderId: o.replacedByOrderId,
    cancelRequestedAt: o.cancelRequestedAt === null ? null : new Date(o.cancelRequestedAt),
    updatedAt: new Date(o.updatedAt),
    lastSeq: String(o.lastSeq),
  };
}

export function toOrderDto(o: Order): OrderDto {
  return {
    id: o.id,
    clientOrderId: o.clientOrderId,
    accountId: o.accountId,
    environment: o.environment,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    positionEffect: o.positionEffect,
    quantity: toDecimalString(o.quantity),
    limitPrice: str(o.limitPrice),
    stopPrice: str(o.stopPrice),
    status: o.status,
    filledQuantity: toDecimalString(o.filledQuantity),
    leavesQuantity: toDecimalString(leavesQuantity(o, isOpenStatus(o.status))),
    averageFillPrice: str(o.averageFillPrice),
    brokerOrderId: o.brokerOrderId,
    rejectReason: o.rejectReason,
    replacesOrderId: o.replacesOrderId,
    replacedByOrderId: o.replacedByOrderId,
    ttlMs: o.ttlMs,
    cancelRequestedAt: o.cancelRequestedAt === null ? null : new Date(o.cancelRequestedAt).toISOString(),
    createdAt: new Date(o.createdAt).toISOString(),
    updatedAt: new Date(o.updatedAt).toISOString(),
    lastSeq: o.lastSeq,
  };
}

export function toExecutionDto(e: ExecutionRecord): ExecutionDto {
  return {
    id: e.id,
    orderId: e.orderId,
    brokerExecutionId: e.brokerExecutionId,
    symbol: e.symbol,
    side: e.side,
    quantity: toDecimalString(e.quantity),
    price: toDecimalString(e.price),
    executedAt: new Date(e.executedAt).toISOString(),
  };
}

/** The public Position; `valuation` is its value at the current quote (market/position-valuation.ts). */
export function toPositionDto(
  p: Position,
  valuation: { readonly marketValue: Decimal | null; readonly unrealizedPnl: Decimal | null },
): PositionDto {
  return {
    symbol: p.symbol,
    quantity: toDecimalString(p.quantity),
    averagePrice: toDecimalString(p.averagePrice),
    realizedPnl: toDecimalString(p.realizedPnl),
    marketValue: str(valuation.marketValue),
    unrealizedPnl: str(valuation.unrealizedPnl),
  };
}
