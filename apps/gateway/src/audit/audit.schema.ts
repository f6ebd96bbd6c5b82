import { z } from 'zod';
import { environmentSchema } from '../common/api.schema.js';
import { typesAgree, typesNarrow } from '../common/type-agreement.js';
import type { AuditEntryDto } from './audit-log.repository.js';

/** Query of `GET /v1/audit`. */
export const auditQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).meta({ description: 'entries with a greater seq' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const text = z.string();

export const auditEntrySchema = z
  .object({
    seq: z.int().meta({
      description: 'increasing from 1: the order of the log (a gap only where a write failed); page on with it',
    }),
    at: z.iso.datetime().meta({ description: 'when the response finished, ISO-8601 UTC, microseconds' }),
    kind: z.enum(['change', 'security']),
    requestId: text.nullable(),
    subject: text.nullable().meta({ description: 'the token subject; null without a valid token' }),
    clientId: text.nullable().meta({ description: 'the token’s azp or client_id claim' }),
    method: text.meta({ description: 'HTTP method, or WS for a stream event' }),
    route: text.meta({ examples: ['/v1/accounts/:accountId/orders/:orderId'] }),
    action: text.nullable().meta({ description: '<controller>.<handler>', examples: ['orders.place', 'risk.halt'] }),
    accountId: text.nullable(),
    environment: environmentSchema.nullable(),
    target: z
      .record(z.string(), text)
      .meta({ description: 'path parameters (accountId, orderId, …) and the kill switch’s scope' }),
    status: z.int().nullable().meta({ description: 'null: the client went away before the answer' }),
    code: text.nullable().meta({ description: 'the problem+json code of an error answer' }),
    prevHash: text.meta({
      description:
        'hash of the previous entry of its chain (the log is one chain per partition of the accounts; 64 zeros for a ' +
        'chain’s first entry; entries from before the partitions: of seq − 1)',
    }),
    hash: text.meta({ description: 'sha256 hex of prevHash followed by the canonical JSON of the row' }),
  })
  .meta({
    id: 'AuditEntry',
    description:
      'One row of the append-only, hash-chained audit log: every state-changing request under /v1 (any outcome) and every ' +
      '401, 403 and 429 answer. Written when the response has gone, so it appears shortly after the answer. Never holds ' +
      'tokens, Authorization headers or request bodies (only the body fields scope, accountId and clientOrderId, in target).',
  });
// The DTO types kind, environment and target widely (text and jsonb columns); the schema names their values.
type NamedValues = 'kind' | 'environment' | 'target';
typesAgree<Omit<z.infer<typeof auditEntrySchema>, NamedValues>, Omit<AuditEntryDto, NamedValues>>(true);
typesNarrow<z.infer<typeof auditEntrySchema>, AuditEntryDto>(true);

export const auditPageSchema = z.object({ entries: z.array(auditEntrySchema) });
