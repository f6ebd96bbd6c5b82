import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { accountIdParam } from '../../common/api.schema.js';
import {
  canceledOrdersSchema,
  eventListSchema,
  eventsQuery,
  executionListSchema,
  executionsQuery,
  listQuery,
  orderIdParam,
  orderListSchema,
  orderSchema,
  positionListSchema,
  reconciliationSchema,
} from '../../orders/order.schema.js';
import { placeOrderSchema } from '../../orders/place-order.request.js';
import { replaceOrderSchema } from '../../orders/replace-order.request.js';
import { accountPath, common, json, problem } from '../responses.js';

const tags = ['Orders'];
const activity = ['Executions, positions, events'];
const orderPath = z.object({ accountId: accountIdParam, orderId: orderIdParam });

export const orderPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/orders': {
    post: {
      tags,
      summary: 'Place an order (role trader). clientOrderId is the idempotency key.',
      requestParams: { path: accountPath },
      requestBody: { required: true, content: { 'application/json': { schema: placeOrderSchema } } },
      responses: {
        '200': json('The same request again: the original order, whatever happened since', orderSchema),
        '201': json(
          'Accepted for submission; the order after the broker answered (new, rejected, unknown, filled...)',
          orderSchema,
        ),
        '400': problem('validation.malformed_json'),
        '403': problem('auth.forbidden: the role does not allow placing orders'),
        '409': problem('idempotency.in_progress: the first request with this clientOrderId is still running'),
        '413': problem('validation.body_too_large'),
        '422': problem(
          'validation.failed; idempotency.key_reused; risk.<check> (the denied order is kept, `orderId`), ' +
            'among them risk.position_break: an entry in a symbol with an open position break (reconciliation)',
        ),
        ...common,
      },
    },
    get: {
      tags,
      summary: 'List orders, newest first; or the one with clientOrderId',
      requestParams: { path: accountPath, query: listQuery },
      responses: {
        '200': json('`next` is absent when clientOrderId is given', orderListSchema),
        '422': problem('validation.failed'),
        ...common,
      },
    },
    delete: {
      tags,
      summary: 'Cancel every working order (role trader)',
      requestParams: { path: accountPath },
      responses: { '202': json('', canceledOrdersSchema), ...common },
    },
  },
  '/v1/accounts/{accountId}/orders/{orderId}': {
    get: { tags, requestParams: { path: orderPath }, responses: { '200': json('', orderSchema), ...common } },
    delete: {
      tags,
      summary: 'Cancel one order (role trader)',
      requestParams: { path: orderPath },
      responses: {
        '202': json(
          'pending_cancel (or already canceled); for an order not yet acknowledged, unchanged with cancelRequestedAt set: sent once it works',
          orderSchema,
        ),
        '422': problem('order.not_cancelable: done, a replace pending, or the broker refused the cancel'),
        ...common,
      },
    },
    patch: {
      tags,
      summary:
        'Replace a working order (role trader): the old one goes pending_replace then replaced (replacedByOrderId); ' +
        'the replacement has replacesOrderId',
      requestParams: { path: orderPath },
      requestBody: { required: true, content: { 'application/json': { schema: replaceOrderSchema } } },
      responses: {
        '200': json('The same request again: the replacement, whatever happened since', orderSchema),
        '202': json(
          'The replacement after the broker answered: new; rejected (the old order back to working, or left filled); unknown (both settled by reconciliation)',
          orderSchema,
        ),
        '409': problem('idempotency.in_progress'),
        '422': problem(
          'order.not_replaceable: not new/partially_filled, a cancel or replace pending, or the new total does not exceed the filled quantity; validation.failed; idempotency.key_reused; risk.<check> (the old order unchanged)',
        ),
        ...common,
      },
    },
  },
  '/v1/accounts/{accountId}/reconcile': {
    post: {
      tags,
      summary:
        "Run the account reconciliation pass now (role risk or admin): orders and executions against the broker's reports, as at start-up and every RECONCILE_INTERVAL_MS. A job of the reconciliation queue, waited for; never beside another pass of the account",
      requestParams: { path: accountPath },
      responses: {
        '200': json('The corrections made, per order', reconciliationSchema),
        ...common,
        '503': problem('service.unavailable: the pass failed (the broker down, say) or did not finish within 60 s'),
      },
    },
  },
  '/v1/accounts/{accountId}/executions': {
    get: {
      tags: activity,
      requestParams: { path: accountPath, query: executionsQuery },
      responses: { '200': json('', executionListSchema), '422': problem('validation.failed'), ...common },
    },
  },
  '/v1/accounts/{accountId}/positions': {
    get: {
      tags: activity,
      summary:
        'Every instrument the account has traded, with realised P&L, and marketValue and unrealizedPnl at the current mark: the mid of a two-sided quote, else the last trade, from a quote no older than RISK_MAX_QUOTE_AGE_MS (null without one)',
      requestParams: { path: accountPath },
      responses: { '200': json('', positionListSchema), ...common },
    },
  },
  '/v1/accounts/{accountId}/events': {
    get: {
      tags: activity,
      summary: 'Events with seq > after, in seq order: the same the stream carries',
      requestParams: { path: accountPath, query: eventsQuery },
      responses: { '200': json('', eventListSchema), '422': problem('validation.failed'), ...common },
    },
  },
};
