import type { TransactionScope } from '../persistence/account-scope.js';
import type { LockedRead } from '../persistence/locked-reads.js';
import { type AuditDraft, appendAuditInTransaction, takeHeadsRead } from './audit-log.repository.js';

/** Where AuditRecorder leaves, on each request it will audit, the means to write its entry early. */
export const REQUEST_AUDIT = Symbol('gateway:request-audit');

/**
 * A request's audit entry, as AuditRecorder describes it. `describe(status)`: the entry the request
 * would get if answered with `status` (null when the request is not audited); `written`: set once the
 * entry has been committed with the change it records, so the recorder does not write it again when the
 * response has gone.
 */
export interface RequestAudit {
  describe(status: number): AuditDraft | null;
  written: boolean;
}

/** The request audit of the request a response answers (Express's `res.req`), when the recorder tracks it. */
export function requestAuditOf(res: { readonly req?: unknown }): RequestAudit | null {
  const req = res.req as { [REQUEST_AUDIT]?: RequestAudit } | undefined;
  return req?.[REQUEST_AUDIT] ?? null;
}

/**
 * Writes the request's entry, as answered with `status`, inside `scope`'s transaction (the change it
 * records), unless it has been written already. Returns what to call once that transaction has
 * committed (it marks the entry written); a no-op without a request audit. Should the transaction roll
 * back, the entry is not marked and the recorder writes it after the answer as usual.
 */
export async function auditInTransaction(
  scope: TransactionScope,
  audit: RequestAudit | null | undefined,
  status: number,
): Promise<() => void> {
  const draft = audit && !audit.written ? audit.describe(status) : null;
  if (!audit || !draft) {
    return () => undefined;
  }
  await appendAuditInTransaction(scope, [draft]);
  return () => {
    audit.written = true;
  };
}

/**
 * What `auditInTransaction(scope, audit, status)` reads, to send with the lock of the transaction it will
 * join (LockedRead): none without an entry to write.
 */
export function auditReads(audit: RequestAudit | null | undefined, status: number): LockedRead[] {
  const draft = audit && !audit.written ? audit.describe(status) : null;
  return draft ? [takeHeadsRead([draft])] : [];
}
