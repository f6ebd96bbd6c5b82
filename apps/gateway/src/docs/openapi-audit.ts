import { json, nullable, problem, query, ref } from './openapi-parts.js';

const text = { type: 'string' };

/** Schemas of the audit log (issue 5). */
export function auditSchemas(): Record<string, unknown> {
  return {
    AuditEntry: {
      type: 'object',
      description:
        'One row of the append-only, hash-chained audit log: every state-changing request under /v1 (any outcome) and every ' +
        '401, 403 and 429 answer. Written when the response has gone, so it appears shortly after the answer. Never holds ' +
        'tokens, Authorization headers or request bodies (only the body fields scope, accountId and clientOrderId, in target).',
      properties: {
        seq: { type: 'integer', description: 'gapless from 1: the order of the chain' },
        at: {
          type: 'string',
          format: 'date-time',
          description: 'when the response finished, ISO-8601 UTC, microseconds',
        },
        kind: { enum: ['change', 'security'] },
        requestId: nullable(text),
        subject: nullable({ ...text, description: 'the token subject; null without a valid token' }),
        clientId: nullable({ ...text, description: 'the token’s azp or client_id claim' }),
        method: { ...text, description: 'HTTP method, or WS for a stream event' },
        route: { ...text, examples: ['/v1/accounts/:accountId/orders/:orderId'] },
        action: nullable({ ...text, description: '<controller>.<handler>', examples: ['orders.place', 'risk.halt'] }),
        accountId: nullable(text),
        environment: nullable({ enum: ['paper', 'live'] }),
        target: {
          type: 'object',
          additionalProperties: text,
          description: 'path parameters (accountId, orderId, …) and the kill switch’s scope',
        },
        status: nullable({ type: 'integer', description: 'null: the client went away before the answer' }),
        code: nullable({ ...text, description: 'the problem+json code of an error answer' }),
        prevHash: { ...text, description: 'hash of seq − 1 (64 zeros for seq 1)' },
        hash: { ...text, description: 'sha256 hex of prevHash followed by the canonical JSON of the row' },
      },
    },
  };
}

/** Paths of the audit log (issue 5). */
export function auditPaths(): Record<string, unknown> {
  return {
    '/v1/audit': {
      get: {
        summary:
          'Audit log entries after a seq, oldest first (role admin with a grant on every account). `npm run audit:verify` checks the chain.',
        parameters: [
          query('after', { type: 'integer', minimum: 0, default: 0 }, 'entries with a greater seq'),
          query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        ],
        responses: {
          '200': json('', {
            type: 'object',
            properties: { entries: { type: 'array', items: ref('AuditEntry') } },
          }),
          '401': problem('auth.unauthenticated: missing, invalid or expired token'),
          '403': problem('auth.forbidden: not admin, or no grant on every account'),
          '422': problem('validation.failed'),
        },
      },
    },
  };
}
