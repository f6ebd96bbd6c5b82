import { createHash } from 'node:crypto';
import {
  Decimal,
  ORDER_SIDES,
  ORDER_TYPES,
  priceFieldsFor,
  TIME_IN_FORCES,
  toDecimalString,
  type OrderSide,
  type OrderType,
  type PositionEffect,
  type TimeInForce,
} from '@gateway/oms';
import { z } from 'zod';
import { positiveDecimal } from '../common/decimal.schema.js';

/**
 * Body of `POST /v1/accounts/{accountId}/orders` (API.md). Unknown fields are refused so that a typo
 * (`limit_price`) never silently turns a limit order into something else.
 */
export const placeOrderSchema = z
  .strictObject({
    clientOrderId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 characters of [A-Za-z0-9._:-]'),
    symbol: z.string().min(1).max(32),
    side: z.enum(ORDER_SIDES as [OrderSide, ...OrderSide[]]),
    quantity: positiveDecimal,
    type: z.enum(ORDER_TYPES as [OrderType, ...OrderType[]]),
    limitPrice: positiveDecimal.nullish(),
    stopPrice: positiveDecimal.nullish(),
    timeInForce: z.enum(TIME_IN_FORCES as [TimeInForce, ...TimeInForce[]]).default('day'),
    positionEffect: z.enum(['open', 'close']).nullish(),
    ttlMs: z.number().int().min(1).max(86_400_000).nullish(),
  })
  .superRefine((body, ctx) => {
    const wants = priceFieldsFor(body.type);
    const check = (field: 'limitPrice' | 'stopPrice', required: boolean) => {
      const present = body[field] !== undefined && body[field] !== null;
      if (required && !present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `is required for a ${body.type} order` });
      } else if (!required && present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `is not allowed on a ${body.type} order` });
      }
    };
    check('limitPrice', wants.limit);
    check('stopPrice', wants.stop);
  });

export type PlaceOrderBody = z.infer<typeof placeOrderSchema>;

/** A validated, normalised place-order request: what the idempotency hash covers. */
export interface PlaceOrderRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly timeInForce: TimeInForce;
  readonly positionEffect: PositionEffect | null;
  readonly ttlMs: number | null;
}

/** The request as given; the place command checks the symbol and puts it in its canonical form. */
export function normalisePlaceOrder(body: PlaceOrderBody): PlaceOrderRequest {
  return {
    clientOrderId: body.clientOrderId,
    symbol: body.symbol,
    side: body.side,
    type: body.type,
    quantity: new Decimal(body.quantity),
    limitPrice: body.limitPrice ? new Decimal(body.limitPrice) : null,
    stopPrice: body.stopPrice ? new Decimal(body.stopPrice) : null,
    timeInForce: body.timeInForce,
    positionEffect: body.positionEffect ?? null,
    ttlMs: body.ttlMs ?? null,
  };
}

/**
 * The idempotency fingerprint: a hash of the normalised request, so `"10"` and `"10.0"`, or an omitted
 * default and the default spelled out, count as the same body.
 */
export function requestHash(r: PlaceOrderRequest): string {
  const canonical = [
    r.clientOrderId,
    r.symbol,
    r.side,
    r.type,
    toDecimalString(r.quantity),
    r.limitPrice ? toDecimalString(r.limitPrice) : '',
    r.stopPrice ? toDecimalString(r.stopPrice) : '',
    r.timeInForce,
    r.positionEffect ?? '',
    r.ttlMs ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
