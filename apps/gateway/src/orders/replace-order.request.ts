import { createHash } from 'node:crypto';
import { Decimal, toDecimalString } from '@gateway/oms';
import { z } from 'zod';
import { positiveDecimal } from '../common/decimal.schema.js';

/**
 * Body of `PATCH /v1/accounts/{accountId}/orders/{orderId}` (API.md; FIX OrderCancelReplaceRequest, 35=G).
 * `clientOrderId` is the replacement's own idempotency key (a new key, unique per account forever).
 * `quantity` is the order's new total, what has already filled included (FIX OrderQty); prices not
 * given keep the order's. At least one of `quantity`, `limitPrice`, `stopPrice` is required.
 */
export const replaceOrderSchema = z
  .strictObject({
    clientOrderId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 characters of [A-Za-z0-9._:-]'),
    quantity: positiveDecimal.optional(),
    limitPrice: positiveDecimal.optional(),
    stopPrice: positiveDecimal.optional(),
  })
  .refine((b) => b.quantity !== undefined || b.limitPrice !== undefined || b.stopPrice !== undefined, {
    message: 'give at least one of quantity, limitPrice, stopPrice',
    path: ['quantity'],
  });

export type ReplaceOrderBody = z.infer<typeof replaceOrderSchema>;

/** A validated replace request: what changes; null keeps the order's value. */
export interface ReplaceOrderRequest {
  readonly clientOrderId: string;
  readonly quantity: Decimal | null;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
}

export function normaliseReplaceOrder(body: ReplaceOrderBody): ReplaceOrderRequest {
  return {
    clientOrderId: body.clientOrderId,
    quantity: body.quantity === undefined ? null : new Decimal(body.quantity),
    limitPrice: body.limitPrice === undefined ? null : new Decimal(body.limitPrice),
    stopPrice: body.stopPrice === undefined ? null : new Decimal(body.stopPrice),
  };
}

/** The idempotency fingerprint of a replace: which order, and the normalised changes. */
export function replaceRequestHash(orderId: string, r: ReplaceOrderRequest): string {
  const d = (x: Decimal | null) => (x === null ? '' : toDecimalString(x));
  const canonical = ['replace', orderId, r.clientOrderId, d(r.quantity), d(r.limitPrice), d(r.stopPrice)];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
