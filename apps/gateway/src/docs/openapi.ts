import { ORDER_EVENT_NAMES, ORDER_STATUSES } from '@gateway/oms';
import { z } from 'zod';
import { placeOrderSchema } from '../orders/place-order.request.js';
import { replaceOrderSchema } from '../orders/replace-order.request.js';
import {
  accountParam,
  common,
  decimal,
  json,
  nullable,
  orderParam,
  problem,
  query,
  ref,
  time,
} from './openapi-parts.js';
import { auditPaths, auditSchemas } from './openapi-audit.js';
import { riskPaths, riskSchemas } from './openapi-risk.js';

/**
 * The OpenAPI 3.1 document of the v1 contract (API.md), served at `/docs/openapi.json`. It also records
 * the choices API.md left open (status codes of broker rejections, validation codes, cursors).
 */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Execution gateway',
      version: '1',
      description: [
        'Turns order intents into at most one broker order each and tells the truth about what happened.',
        'Decimals are strings; times ISO-8601 UTC; errors RFC 9457 problem+json with a stable `code`.',
        'Validation: malformed JSON → 400 `validation.malformed_json`; a body or query that does not match the',
        'schema (missing or unknown fields, bad decimals, unknown symbol) → 422 `validation.failed` with `errors[]`;',
        'an oversized body → 413 `validation.body_too_large`; over a rate limit → 429 `rate_limit.exceeded` with `Retry-After` (seconds). A broker rejection is not an HTTP error: the order',
        'is answered 201 with status `rejected` and `rejectReason.code` `broker.rejected`.',
      ].join(' '),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068 at+jwt)' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'requestId'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string', examples: ['validation.failed', 'risk.max_notional', 'idempotency.key_reused'] },
            errors: {
              type: 'array',
              items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
            },
            requestId: { type: 'string' },
            orderId: { type: 'string', description: 'risk denials and idempotency conflicts: the order concerned' },
          },
        },
        Account: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            environment: { enum: ['paper', 'live'] },
            broker: { type: 'string' },
            liveEnabled: {
              type: 'boolean',
              description: 'a live account takes orders only when set (403 account.live_not_enabled otherwise)',
            },
            tradingState: {
              enum: ['active', 'reducing', 'halted'],
              description:
                "effective: the account's own state, or the global one when more restrictive. active: every order subject to the checks; " +
                'reducing: only orders that reduce a position without flipping it; halted (kill switch): no entries, exits only as marketable limit orders inside the price collar',
            },
            tradingStateReason: nullable({ type: 'string' }),
            entriesBlocked: {
              type: 'boolean',
              description: 'entry authority withdrawn (state, unknown order, restart); exits stay possible',
            },
            entriesBlockedReason: nullable({ type: 'string' }),
          },
        },
        Grant: {
          type: 'object',
          properties: {
            subject: { type: 'string' },
            accountId: { type: 'string' },
            roles: { type: 'array', items: { enum: ['viewer', 'trader', 'risk', 'admin'] } },
            grantedBy: { type: 'string' },
            grantedAt: time,
          },
        },
        PlaceOrder: z.toJSONSchema(placeOrderSchema, { io: 'input', unrepresentable: 'any' }),
        ReplaceOrder: {
          ...z.toJSONSchema(replaceOrderSchema, { io: 'input', unrepresentable: 'any' }),
          description:
            "clientOrderId: the replacement's own idempotency key. quantity: the new total, filled included (FIX OrderQty); " +
            'the replacement works quantity minus what the old order had filled when the broker acted, and its own ' +
            "`quantity` says so. Prices not given keep the order's. A replacement carries no ttlMs.",
        },
        Order: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            clientOrderId: { type: 'string' },
            accountId: { type: 'string' },
            environment: { enum: ['paper', 'live'] },
            symbol: { type: 'string', description: 'ticker, or 21-character padded OCC/OSI option symbol' },
            side: { enum: ['buy', 'sell'] },
            type: { enum: ['market', 'limit', 'stop', 'stop_limit'] },
            timeInForce: { enum: ['day', 'gtc', 'ioc', 'fok'] },
            positionEffect: nullable({ enum: ['open', 'close'] }),
            quantity: decimal,
            limitPrice: nullable(decimal),
            stopPrice: nullable(decimal),
            status: { enum: [...ORDER_STATUSES] },
            filledQuantity: decimal,
            leavesQuantity: { ...decimal, description: 'quantity still working; 0 once the order is done' },
            averageFillPrice: nullable(decimal),
            brokerOrderId: nullable({ type: 'string' }),
            rejectReason: nullable({
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            }),
            replacesOrderId: nullable({ type: 'string' }),
            replacedByOrderId: nullable({ type: 'string' }),
            ttlMs: nullable({ type: 'integer' }),
            cancelRequestedAt: nullable({
              ...time,
              description: 'a cancel asked for before the broker acknowledged the order',
            }),
            createdAt: time,
            updatedAt: time,
            lastSeq: { type: 'integer', description: 'seq of the last event of this order' },
          },
        },
        Execution: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            orderId: { type: 'string' },
            brokerExecutionId: { type: 'string' },
            symbol: { type: 'string' },
            side: { enum: ['buy', 'sell'] },
            quantity: decimal,
            price: decimal,
            executedAt: time,
          },
        },
        Position: {
          type: 'object',
          properties: {
            symbol: { type: 'string' },
            quantity: { ...decimal, description: 'signed: long > 0, short < 0' },
            averagePrice: decimal,
            realizedPnl: { ...decimal, description: 'USD, contract multiplier applied' },
          },
        },
        Event: {
          type: 'object',
          properties: {
            type: { const: 'order' },
            accountId: { type: 'string' },
            seq: { type: 'integer', description: 'per account, from 1, gapless' },
            event: { enum: [...ORDER_EVENT_NAMES] },
            order: ref('Order'),
            execution: ref('Execution'),
            ts: time,
          },
        },
        Quote: {
          type: 'object',
          properties: {
            symbol: { type: 'string' },
            bid: decimal,
            ask: decimal,
            bidSize: decimal,
            askSize: decimal,
            last: nullable(decimal),
            ts: { ...time, description: 'recorded market time (the replayed day for the paper venue)' },
            ageMs: { type: 'integer' },
            source: { type: 'string' },
          },
        },
        ...riskSchemas(),
        ...auditSchemas(),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/accounts': {
        get: {
          summary: 'Accounts you may see',
          responses: { '200': json('', { type: 'array', items: ref('Account') }), ...common },
        },
      },
      '/v1/accounts/{accountId}': {
        get: { parameters: [accountParam], responses: { '200': json('', ref('Account')), ...common } },
        patch: {
          summary: 'Switch live trading of a live account on or off (role admin)',
          parameters: [accountParam],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object', required: ['liveEnabled'], properties: { liveEnabled: { type: 'boolean' } } },
              },
            },
          },
          responses: { '200': json('', ref('Account')), '403': problem('auth.forbidden'), ...common },
        },
      },
      '/v1/accounts/{accountId}/grants': {
        get: {
          summary: 'Who may act on the account, with which roles there (role admin)',
          parameters: [accountParam],
          responses: {
            '200': json('', { type: 'object', properties: { grants: { type: 'array', items: ref('Grant') } } }),
            '403': problem('auth.forbidden'),
            ...common,
          },
        },
      },
      '/v1/accounts/{accountId}/grants/{subject}': {
        put: {
          summary:
            "Grant a subject (user or client id) the account with these roles (role admin); its token's roles are cut down to them there",
          parameters: [accountParam, { name: 'subject', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['roles'],
                  properties: {
                    roles: { type: 'array', minItems: 1, items: { enum: ['viewer', 'trader', 'risk', 'admin'] } },
                  },
                },
              },
            },
          },
          responses: {
            '200': json('', ref('Grant')),
            '403': problem('auth.forbidden'),
            '422': problem('validation.failed'),
            ...common,
          },
        },
        delete: {
          summary: 'Withdraw a grant (role admin)',
          parameters: [accountParam, { name: 'subject', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '204': { description: 'withdrawn' },
            '403': problem('auth.forbidden'),
            '404': problem('grant.not_found; account.not_found'),
          },
        },
      },
      '/v1/accounts/{accountId}/orders': {
        post: {
          summary: 'Place an order (role trader). clientOrderId is the idempotency key.',
          parameters: [accountParam],
          requestBody: { required: true, content: { 'application/json': { schema: ref('PlaceOrder') } } },
          responses: {
            '200': json('The same request again: the original order, whatever happened since', ref('Order')),
            '201': json(
              'Accepted for submission; the order after the broker answered (new, rejected, unknown, filled...)',
              ref('Order'),
            ),
            '400': problem('validation.malformed_json'),
            '403': problem('auth.forbidden: the role does not allow placing orders'),
            '409': problem('idempotency.in_progress: the first request with this clientOrderId is still running'),
            '413': problem('validation.body_too_large'),
            '422': problem(
              'validation.failed; idempotency.key_reused; risk.<check> (the denied order is kept, `orderId`)',
            ),
            ...common,
          },
        },
        get: {
          summary: 'List orders, newest first; or the one with clientOrderId',
          parameters: [
            accountParam,
            query('status', { enum: ['open', 'closed', 'all'], default: 'all' }),
            query('symbol', { type: 'string' }),
            query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 100 }),
            query('after', { type: 'string' }, 'cursor: the `next` of the previous page'),
            query('clientOrderId', { type: 'string' }),
          ],
          responses: {
            '200': json('', {
              type: 'object',
              properties: { orders: { type: 'array', items: ref('Order') }, next: nullable({ type: 'string' }) },
            }),
            '422': problem('validation.failed'),
            ...common,
          },
        },
        delete: {
          summary: 'Cancel every working order (role trader)',
          parameters: [accountParam],
          responses: {
            '202': json('', { type: 'object', properties: { orders: { type: 'array', items: ref('Order') } } }),
            ...common,
          },
        },
      },
      '/v1/accounts/{accountId}/orders/{orderId}': {
        get: { parameters: [accountParam, orderParam], responses: { '200': json('', ref('Order')), ...common } },
        delete: {
          summary: 'Cancel one order (role trader)',
          parameters: [accountParam, orderParam],
          responses: {
            '202': json(
              'pending_cancel (or already canceled); for an order not yet acknowledged, unchanged with cancelRequestedAt set: sent once it works',
              ref('Order'),
            ),
            '422': problem('order.not_cancelable: done, a replace pending, or the broker refused the cancel'),
            ...common,
          },
        },
        patch: {
          summary:
            'Replace a working order (role trader): the old one goes pending_replace then replaced (replacedByOrderId); ' +
            'the replacement has replacesOrderId',
          parameters: [accountParam, orderParam],
          requestBody: { required: true, content: { 'application/json': { schema: ref('ReplaceOrder') } } },
          responses: {
            '200': json('The same request again: the replacement, whatever happened since', ref('Order')),
            '202': json(
              'The replacement after the broker answered: new; rejected (the old order back to working, or left filled); unknown (both settled by reconciliation)',
              ref('Order'),
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
          summary:
            "Run the account reconciliation pass now (role risk or admin): orders and executions against the broker's reports, as at start-up",
          parameters: [accountParam],
          responses: {
            '200': json('The corrections made, per order', {
              type: 'object',
              properties: {
                orders: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { orderId: { type: 'string' }, actions: { type: 'array', items: { type: 'string' } } },
                  },
                },
              },
            }),
            ...common,
          },
        },
      },
      '/v1/accounts/{accountId}/executions': {
        get: {
          parameters: [
            accountParam,
            query('after', { type: 'string' }),
            query('limit', { type: 'integer', maximum: 1000 }),
          ],
          responses: {
            '200': json('', { type: 'object', properties: { executions: { type: 'array', items: ref('Execution') } } }),
            ...common,
          },
        },
      },
      '/v1/accounts/{accountId}/positions': {
        get: {
          parameters: [accountParam],
          responses: {
            '200': json('', { type: 'object', properties: { positions: { type: 'array', items: ref('Position') } } }),
            ...common,
          },
        },
      },
      '/v1/accounts/{accountId}/events': {
        get: {
          summary: 'Events with seq > after, in seq order: the same the stream carries',
          parameters: [
            accountParam,
            query('after', { type: 'integer', minimum: 0 }),
            query('limit', { type: 'integer', maximum: 1000 }),
          ],
          responses: {
            '200': json('', { type: 'object', properties: { events: { type: 'array', items: ref('Event') } } }),
            ...common,
          },
        },
      },
      '/v1/quotes/{symbol}': {
        get: {
          parameters: [{ name: 'symbol', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': json('', ref('Quote')), '404': problem('quote.not_found') },
        },
      },
      '/v1/venues/paper/replay': {
        get: { summary: 'Paper replay state (role admin)', responses: { '200': json('', { type: 'object' }) } },
        post: {
          summary: 'Pause, resume, set speed or step the paper replay to a recorded time (role admin)',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    paused: { type: 'boolean' },
                    speed: { type: 'number' },
                    stepTo: { type: 'string', examples: ['09:30:05'] },
                  },
                },
              },
            },
          },
          responses: { '200': json('', { type: 'object' }), '422': problem('validation.failed; replay.out_of_window') },
        },
      },
      ...riskPaths(),
      ...auditPaths(),
      '/health/live': { get: { security: [], responses: { '200': json('', { type: 'object' }) } } },
      '/health/ready': {
        get: { security: [], responses: { '200': json('', { type: 'object' }), '503': json('', { type: 'object' }) } },
      },
      '/metrics': { get: { security: [], responses: { '200': { description: 'Prometheus text format' } } } },
    },
    'x-websocket': {
      path: '/v1/stream',
      description:
        'Plain JSON text frames. {op:"auth",token} within 5 s → {type:"authenticated"} or close 4401. ' +
        '{op:"subscribe",channel:"orders",accountId,fromSeq?} → {type:"subscribed",seq} then events seq > fromSeq, then live. ' +
        '{op:"subscribe",channel:"quotes",symbol} → {type:"quote",...}. Ping every 15 s; slow consumers closed with 4408.',
    },
  };
}
