import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The export outbox (README, "Exporting events"): the changes that are not order events but that a back
 * office follows too (trading-state changes, the kill switch among them, and reconciliation breaks) are
 * written here in the transaction that records them, one row per message to publish: its NATS subject,
 * its `Nats-Msg-Id` (unique: a change is one message) and its body. The relay publishes the rows in `id`
 * order and deletes each only once JetStream has acknowledged it; order events need no row, their log
 * (`order_events`, cursor `event_exports`) is their outbox.
 */
export class ExportOutbox1796515200000 implements MigrationInterface {
  name = 'ExportOutbox1796515200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE export_outbox (
        id bigserial PRIMARY KEY,
        subject text NOT NULL,
        msg_id text NOT NULL UNIQUE,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE export_outbox`);
  }
}
