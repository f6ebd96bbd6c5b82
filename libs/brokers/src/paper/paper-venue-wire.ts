import {
  DECIMAL_PATTERN,
  Decimal,
  ORDER_SIDES,
  ORDER_TYPES,
  TIME_IN_FORCES,
  type OrderSide,
  type OrderType,
  type TimeInForce,
  toDecimalString,
} from '@gateway/oms';
import { z } from 'zod';
import type { CancelOrderCommand, ReplaceOrderCommand, SubmitOrderCommand } from '../execution-client.js';
import type { ExecType, ExecutionReport, FillReport, OrderStatusReport } from '../reports.js';
import type { PaperFillListing, PaperOrderRecord } from './paper-order-record.js';

/*
 * The HTTP protocol of the paper venue's fake broker (apps/paper-venue) and of its client (HttpVenueClient):
 * JSON bodies, decimals as canonical decimal strings, times as epoch ms. Both sides validate with these
 * schemas, so they cannot drift apart.
 */

const decimalString = z.string().regex(DECIMAL_PATTERN, 'expected a decimal string');
const side = z.enum(ORDER_SIDES as [OrderSide, ...OrderSide[]]);
const orderType = z.enum(ORDER_TYPES as [OrderType, ...OrderType[]]);
const timeInForce = z.enum(TIME_IN_FORCES as [TimeInForce, ...TimeInForce[]]);
const epochMs = z.number().int();
const EXEC_TYPES = ['new', 'trade', 'canceled', 'rejected', 'expired', 'replaced', 'pending_cancel'] as const;

export const paperFillRecordSchema = z.object({
  brokerExecutionId: z.string().min(1),
  quantity: decimalString,
  price: decimalString,
  executedAt: epochMs,
  reportedAt: epochMs,
  liquidity: z.enum(['taker', 'maker']),
});

/** A PaperOrderRecord on the wire (`fills` optional: answers to a command carry the order without them). */
export const paperOrderRecordSchema = z.object({
  brokerOrderId: z.string().min(1),
  clientOrderId: z.string().min(1),
  symbol: z.string().min(1),
  side,
  type: orderType,
  timeInForce,
  quantity: decimalString,
  limitPrice: decimalString.nullable(),
  stopPrice: decimalString.nullable(),
  status: z.enum(['new', 'partially_filled', 'filled', 'canceled', 'replaced']),
  filledQuantity: decimalString,
  averageFillPrice: decimalString.nullable(),
  triggered: z.boolean(),
  resting: z.boolean(),
  reason: z.string().nullable(),
  createdAt: epochMs,
  updatedAt: epochMs,
  fills: z.array(paperFillRecordSchema).optional(),
});

export const paperFillListingSchema = paperFillRecordSchema.extend({
  clientOrderId: z.string().min(1),
  brokerOrderId: z.string().min(1),
  symbol: z.string().min(1),
  side,
});

/** `GET /v1/positions`: one open position of the venue (PaperPositionListing). */
export const paperPositionListingSchema = z.object({
  symbol: z.string().min(1),
  quantity: decimalString,
  averagePrice: decimalString,
});

/** An ExecutionReport on the wire: decimals as strings, `raw` as the venue emitted it. */
export const wireReportSchema = z.object({
  venue: z.string().min(1),
  execType: z.enum(EXEC_TYPES),
  clientOrderId: z.string().min(1),
  brokerOrderId: z.string().min(1),
  symbol: z.string().min(1),
  side,
  cumulativeQuantity: decimalString,
  leavesQuantity: decimalString,
  execution: z
    .object({
      brokerExecutionId: z.string().min(1),
      quantity: decimalString,
      price: decimalString,
      executedAt: epochMs,
    })
    .optional(),
  reason: z.string().optional(),
  transactTime: epochMs,
  raw: z.unknown(),
});
export type WireReport = z.infer<typeof wireReportSchema>;

/**
 * `GET /v1/reports` answer: reports with seq > `after`, in seq order, and the last seq of the log.
 * `logId` names the venue process's log: a new id means the venue restarted and its seq began again at 1.
 */
export const reportsPageSchema = z.object({
  logId: z.string().min(1),
  lastSeq: z.number().int().min(0),
  reports: z.array(z.object({ seq: z.number().int().min(1), report: wireReportSchema })),
});
export type ReportsPage = z.infer<typeof reportsPageSchema>;

/** Body of every 4xx/5xx answer of the venue. `code`: `rejected` (422), `bad_request`, `not_found`, `conflict`... */
export const venueErrorSchema = z.object({ code: z.string(), message: z.string() });
export type VenueError = z.infer<typeof venueErrorSchema>;

/** `POST /v1/orders` body. Absent prices are null. */
export const submitBodySchema = z.object({
  clientOrderId: z.string().min(1),
  symbol: z.string().min(1),
  side,
  type: orderType,
  timeInForce,
  quantity: decimalString,
  limitPrice: decimalString.nullish(),
  stopPrice: decimalString.nullish(),
});
export type SubmitBody = z.infer<typeof submitBodySchema>;

/** `PATCH /v1/orders/{brokerOrderId}` body. `quantity` is the new total (FIX OrderQty); absent prices keep the old order's. */
export const replaceBodySchema = z.object({
  clientOrderId: z.string().min(1),
  newClientOrderId: z.string().min(1),
  quantity: decimalString,
  limitPrice: decimalString.nullish(),
  stopPrice: decimalString.nullish(),
});
export type ReplaceBody = z.infer<typeof replaceBodySchema>;

const decimalOrNull = (text: string | null | undefined): Decimal | null =>
  text === null || text === undefined ? null : new Decimal(text);
const stringOrNull = (value: Decimal | null): string | null => (value === null ? null : toDecimalString(value));

export function toSubmitBody(command: SubmitOrderCommand): SubmitBody {
  return {
    clientOrderId: command.clientOrderId,
    symbol: command.symbol,
    side: command.side,
    type: command.type,
    timeInForce: command.timeInForce,
    quantity: toDecimalString(command.quantity),
    limitPrice: stringOrNull(command.limitPrice),
    stopPrice: stringOrNull(command.stopPrice),
  };
}

export function fromSubmitBody(body: SubmitBody): SubmitOrderCommand {
  return {
    clientOrderId: body.clientOrderId,
    symbol: body.symbol,
    side: body.side,
    type: body.type,
    timeInForce: body.timeInForce,
    quantity: new Decimal(body.quantity),
    limitPrice: decimalOrNull(body.limitPrice),
    stopPrice: decimalOrNull(body.stopPrice),
  };
}

export function toReplaceBody(command: ReplaceOrderCommand): ReplaceBody {
  return {
    clientOrderId: command.clientOrderId,
    newClientOrderId: command.newClientOrderId,
    quantity: toDecimalString(command.quantity),
    limitPrice: stringOrNull(command.limitPrice),
    stopPrice: stringOrNull(command.stopPrice),
  };
}

export function fromReplaceBody(brokerOrderId: string, body: ReplaceBody): ReplaceOrderCommand {
  return {
    clientOrderId: body.clientOrderId,
    brokerOrderId,
    newClientOrderId: body.newClientOrderId,
    quantity: new Decimal(body.quantity),
    limitPrice: decimalOrNull(body.limitPrice),
    stopPrice: decimalOrNull(body.stopPrice),
  };
}

/** A command as the test routes list it (`GET /v1/test/received...`): decimals as strings. */
export function toWireCommand(command: SubmitOrderCommand | ReplaceOrderCommand | CancelOrderCommand): unknown {
  return JSON.parse(
    JSON.stringify(command, (_key, value: unknown) => (Decimal.isDecimal(value) ? toDecimalString(value) : value)),
  );
}

export function toWireReport(report: ExecutionReport): WireReport {
  return {
    venue: report.venue,
    execType: report.execType,
    clientOrderId: report.clientOrderId,
    brokerOrderId: report.brokerOrderId,
    symbol: report.symbol,
    side: report.side,
    cumulativeQuantity: toDecimalString(report.cumulativeQuantity),
    leavesQuantity: toDecimalString(report.leavesQuantity),
    ...(report.execution
      ? {
          execution: {
            brokerExecutionId: report.execution.brokerExecutionId,
            quantity: toDecimalString(report.execution.quantity),
            price: toDecimalString(report.execution.price),
            executedAt: report.execution.executedAt,
          },
        }
      : {}),
    ...(report.reason !== undefined ? { reason: report.reason } : {}),
    transactTime: report.transactTime,
    raw: report.raw,
  };
}

export function fromWireReport(wire: WireReport): ExecutionReport {
  return {
    venue: wire.venue,
    execType: wire.execType satisfies ExecType,
    clientOrderId: wire.clientOrderId,
    brokerOrderId: wire.brokerOrderId,
    symbol: wire.symbol,
    side: wire.side,
    cumulativeQuantity: new Decimal(wire.cumulativeQuantity),
    leavesQuantity: new Decimal(wire.leavesQuantity),
    ...(wire.execution
      ? {
          execution: {
            brokerExecutionId: wire.execution.brokerExecutionId,
            quantity: new Decimal(wire.execution.quantity),
            price: new Decimal(wire.execution.price),
            executedAt: wire.execution.executedAt,
          },
        }
      : {}),
    ...(wire.reason !== undefined ? { reason: wire.reason } : {}),
    transactTime: wire.transactTime,
    raw: wire.raw,
  };
}

/** The venue's record of an order as an OrderStatusReport (`raw`: the record), as PaperVenue itself gives it. */
export function statusReportFromRecord(
  record: z.infer<typeof paperOrderRecordSchema> | PaperOrderRecord,
): OrderStatusReport {
  return {
    clientOrderId: record.clientOrderId,
    brokerOrderId: record.brokerOrderId,
    symbol: record.symbol,
    side: record.side,
    type: record.type,
    quantity: new Decimal(record.quantity),
    limitPrice: decimalOrNull(record.limitPrice),
    status: record.status,
    filledQuantity: new Decimal(record.filledQuantity),
    averageFillPrice: decimalOrNull(record.averageFillPrice),
    createdAt: record.createdAt,
    raw: record,
  };
}

/** A listed fill as a FillReport (`raw`: the listing), as PaperVenue itself gives it. */
export function fillReportFromListing(listing: PaperFillListing): FillReport {
  return {
    brokerExecutionId: listing.brokerExecutionId,
    quantity: new Decimal(listing.quantity),
    price: new Decimal(listing.price),
    executedAt: listing.executedAt,
    clientOrderId: listing.clientOrderId,
    brokerOrderId: listing.brokerOrderId,
    symbol: listing.symbol,
    side: listing.side,
    raw: listing,
  };
}
