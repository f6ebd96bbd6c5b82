import type { EntityManager } from 'typeorm';

/**
 * One message for the event export (README, "Exporting events"), written to `export_outbox` in the
 * transaction that records the change it tells of, so it exists exactly when the change does.
 */
export interface OutboxMessage {
  /** `gateway.<environment>.<accountId>.<kind>`: see `exportSubject`. */
  readonly subject: string;
  /** JetStream's `Nats-Msg-Id`: one id per change, so a republish after a crash is dropped as a duplicate. */
  readonly msgId: string;
  /** The message body, JSON; carries `type` (`trading_state`, `reconciliation_break`). */
  readonly payload: Record<string, unknown>;
}

/** What the messages not of one account (the global trading state) carry as environment and account. */
export const GLOBAL_SUBJECT_SCOPE = { environment: 'all', accountId: 'global' } as const;

/**
 * The subject of an exported message: `gateway.<environment>.<accountId>.<kind>`, beside the order
 * events' `gateway.<environment>.<accountId>.orders`; the global trading state's is
 * `gateway.all.global.trading_state` (it governs every environment).
 */
export function exportSubject(
  environment: string,
  accountId: string,
  kind: 'trading_state' | 'reconciliation',
): string {
  return `gateway.${environment}.${accountId}.${kind}`;
}

/**
 * Appends messages to the export outbox in the caller's transaction. Written whether or not this
 * instance relays (EVENT_EXPORT): the relay of any instance, or a later one, publishes what the outbox
 * holds, as it publishes the order log from its start. A message already there (same id) is kept as is.
 */
export async function appendToOutbox(manager: EntityManager, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) {
    return;
  }
  await manager.query(
    `INSERT INTO export_outbox (subject, msg_id, payload)
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
     ON CONFLICT (msg_id) DO NOTHING`,
    [messages.map((m) => m.subject), messages.map((m) => m.msgId), messages.map((m) => JSON.stringify(m.payload))],
  );
}
