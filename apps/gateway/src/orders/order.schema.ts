import {
  ORDER_EVENT_NAMES,
  ORDER_SIDES,
  ORDER_STATUSES,
  ORDER_TYPES,
  TIME_IN_FORCES,
  type OrderSide,
  type OrderType,
  type TimeInForce,
} from '@gateway/oms';
import { z } from 'zod';
import { decimalString, environmentSchema, isoTime } from '../common/api.schema.js';
import { typesAgree } from '../common/type-agreement.js';
import type { StreamEvent } from './stream-event.js';
import type { ExecutionDto, OrderDto, PositionDto } from './order.mapper.js';
import { placeOrderSchema } from './place-order.request.js';
import { replaceOrderSchema } from './replace-order.request.js';

// The request bodies, named for the OpenAPI document (`register` keeps the very schema the routes validate with).
placeOrderSchema.register(z.globalRegistry, { id: 'PlaceOrder' });
replaceOrderSchema.register(z.globalRegistry, {
  id: 'ReplaceOrder',
  description:
    "clientOrderId: the replacement's own idempotency key. quantity: the new total, filled included (FIX OrderQty); " +
    'the replacement works quantity minus what the old order had filled when the venue acted, and its own ' +
    "`quantity` says so. Prices not given keep the order's. A replacement carries no ttlMs.",
});

const side = z.enum(ORDER_SIDES as [OrderSide, ...OrderSide[]]);
const nullableDecimal = decimalString.nullable();

/** The public Order (API.md "Orders"), as `toOrderDto` makes it. */
export const orderSchema = z
  .object({
    id: z.string(),
    clientOrderId: z.string(),
    accountId: z.string(),
    environment: environmentSchema,
    symbol: z.string().meta({ description: 'ticker, or 21-character padded OCC/OSI option symbol' }),
    side,
    type: z.enum(ORDER_TYPES as [OrderType, ...OrderType[]]),
    timeInForce: z.enum(TIME_IN_FORCES as [TimeInForce, ...TimeInForce[]]),
    positionEffect: z.enum(['open', 'close']).nullable(),
    quantity: decimalString,
    limitPrice: nullableDecimal,
    stopPrice: nullableDecimal,
    status: z.enum(ORDER_STATUSES),
    filledQuantity: decimalString,
    leavesQuantity: decimalString.meta({ description: 'quantity still working; 0 once the order is done' }),
    averageFillPrice: nullableDecimal,
    brokerOrderId: z.string().nullable(),
    rejectReason: z.object({ code: z.string(), message: z.string() }).nullable(),
    replacesOrderId: z.string().nullable(),
    replacedByOrderId: z.string().nullable(),
    ttlMs: z.int().nullable(),
    cancelRequestedAt: isoTime
      .nullable()
      .meta({ description: 'a cancel asked for before the broker acknowledged the order' }),
    createdAt: isoTime,
    updatedAt: isoTime,
    lastSeq: z.int().meta({ description: 'seq of the last event of this order' }),
  })
  .meta({ id: 'Order' });
typesAgree<z.infer<typeof orderSchema>, OrderDto>(true);

/** The public Execution (API.md "Executions, positions, events"). */
export const executionSchema = z
  .object({
    id: z.string(),
    orderId: z.string(),
    brokerExecutionId: z.string(),
    symbol: z.string(),
    side,
    quantity: decimalString,
    price: decimalString,
    executedAt: isoTime,
  })
  .meta({ id: 'Execution' });
typesAgree<z.infer<typeof executionSchema>, ExecutionDto>(true);

export const positionSchema = z
  .object({
    symbol: z.string(),
    quantity: decimalString.meta({ description: 'signed: long > 0, short < 0' }),
    averagePrice: decimalString,
    realizedPnl: decimalString.meta({ description: 'USD, contract multiplier applied' }),
    marketValue: decimalString.nullable().meta({
      description:
        'USD: quantity × mark × multiplier, signed. The mark is the mid of a two-sided quote, else the last ' +
        'trade, from a quote no older than RISK_MAX_QUOTE_AGE_MS; null when there is no such quote. "0" when flat',
    }),
    unrealizedPnl: decimalString.nullable().meta({
      description: 'USD: (mark − averagePrice) × quantity × multiplier; null without a current quote, "0" when flat',
    }),
  })
  .meta({ id: 'Position' });
typesAgree<z.infer<typeof positionSchema>, PositionDto>(true);

/** An order event as `GET …/events` and the stream carry it (API.md "Event"). */
export const eventSchema = z
  .object({
    type: z.literal('order'),
    accountId: z.string(),
    seq: z.int().meta({ description: 'per account, from 1, gapless' }),
    event: z.enum(ORDER_EVENT_NAMES),
    order: orderSchema,
    execution: executionSchema.optional(),
    ts: isoTime,
  })
  .meta({ id: 'Event' });
typesAgree<z.infer<typeof eventSchema>, StreamEvent>(true);

export const orderListSchema = z.object({ orders: z.array(orderSchema), next: z.string().nullable().optional() });
export const canceledOrdersSchema = z.object({ orders: z.array(orderSchema) });
export const executionListSchema = z.object({ executions: z.array(executionSchema) });
export const positionListSchema = z.object({ positions: z.array(positionSchema) });
export const eventListSchema = z.object({ events: z.array(eventSchema) });
export const reconciliationSchema = z.object({
  orders: z.array(z.object({ orderId: z.string(), actions: z.array(z.string()) })),
});

export const orderIdParam = z.uuid();

const limit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);
const uuid = z.uuid({ error: 'must be an id returned by this API' });

/** Query of `GET …/orders`. */
export const listQuery = z.strictObject({
  status: z.enum(['open', 'closed', 'all']).default('all'),
  symbol: z.string().min(1).max(32).optional(),
  limit: limit(100, 500),
  after: uuid.optional().meta({ description: 'cursor: the `next` of the previous page' }),
  clientOrderId: z.string().min(1).max(64).optional(),
});
/** Query of `GET …/executions`. */
export const executionsQuery = z.strictObject({ after: uuid.optional(), limit: limit(100, 1000) });
/** Query of `GET …/events`: events with seq > `after`. */
export const eventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: limit(100, 1000),
});
