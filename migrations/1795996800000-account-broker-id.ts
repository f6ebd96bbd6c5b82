import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The account's own number at its broker (`broker_account_id`: an Alpaca account id, a Schwab account
 * hash), given when an admin creates the account (`POST /v1/accounts`); null when not given (the paper
 * venues have none).
 */
export class AccountBrokerId1795996800000 implements MigrationInterface {
  name = 'AccountBrokerId1795996800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN broker_account_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts DROP COLUMN broker_account_id`);
  }
}
