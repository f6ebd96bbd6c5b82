import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far each account's order events have been published to the message broker (EVENT_EXPORT=nats):
 * the event log (`order_events`, written in the transaction that records each change) is the outbox,
 * and `published_seq` is the last `seq` the broker confirmed. The relay advances it only after the
 * broker's acknowledgement, so the export is at least once across crashes and outages; nothing is pruned
 * (the log is the record).
 */
export class EventExports1796400000000 implements MigrationInterface {
  name = 'EventExports1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_exports (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        published_seq bigint NOT NULL DEFAULT 0 CHECK (published_seq >= 0),
        published_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE event_exports`);
  }
}
