import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `accounts.risk_limits_version`: the account's latest `risk_limits` version (0: the configured
 * defaults), set by a trigger in the same transaction as every new version, so that the locked account
 * row tells an order which limits are in force without reading `risk_limits` (the gateway keeps each
 * version's parsed limits in memory; versions never change once written).
 */
export class RiskLimitsVersion1795564800000 implements MigrationInterface {
  name = 'RiskLimitsVersion1795564800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN risk_limits_version integer NOT NULL DEFAULT 0`);
    await q.query(`
      UPDATE accounts a SET risk_limits_version = v.version
        FROM (SELECT account_id, max(version) AS version FROM risk_limits GROUP BY account_id) v
       WHERE v.account_id = a.id`);
    await q.query(`
      CREATE FUNCTION risk_limits_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE accounts SET risk_limits_version = NEW.version
         WHERE id = NEW.account_id AND risk_limits_version < NEW.version;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER risk_limits_version AFTER INSERT ON risk_limits
      FOR EACH ROW EXECUTE FUNCTION risk_limits_version()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER risk_limits_version ON risk_limits`);
    await q.query(`DROP FUNCTION risk_limits_version()`);
    await q.query(`ALTER TABLE accounts DROP COLUMN risk_limits_version`);
  }
}
