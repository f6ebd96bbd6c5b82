import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The mid price (bid + ask) / 2 of the quote the pre-trade risk check used for an order, written in the
 * intent's own insert (`intent_mid`): the reference of the fills' net expected value in the cockpit's
 * Execution panel. Null without a two-sided quote at intent, and for orders from before it was kept.
 */
export class OrderIntentMid1796256000000 implements MigrationInterface {
  name = 'OrderIntentMid1796256000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN intent_mid numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders DROP COLUMN intent_mid`);
  }
}
