import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log (README, "Audit log"): one row per state-changing request and per security event, append-only
 * (UPDATE, DELETE and TRUNCATE refused by database triggers) and hash-chained: `hash` = sha256 of `prev_hash`
 * and the row's canonical JSON (apps/gateway/src/audit/audit-chain.ts), `seq` gapless from 1, so
 * `npm run audit:verify` finds an edited or deleted row even when the triggers were bypassed.
 * `account_id` is text, not a foreign key: it is what the request named, which may be no account at all.
 */
export class AuditLog1795305600000 implements MigrationInterface {
  name = 'AuditLog1795305600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        occurred_at timestamptz NOT NULL,
        kind text NOT NULL CHECK (kind IN ('change', 'security')),
        request_id text,
        subject text,
        client_id text,
        method text NOT NULL,
        route text NOT NULL,
        action text,
        account_id text,
        environment text,
        target jsonb NOT NULL,
        status integer,
        code text,
        prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
      )`);
    await q.query(`CREATE INDEX audit_log_account_idx ON audit_log (account_id, seq)`);
    await q.query(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION forbid_mutation()`);
    await q.query(`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION forbid_mutation()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_log_no_truncate ON audit_log`);
    await q.query(`DROP TRIGGER audit_log_append_only ON audit_log`);
    await q.query(`DROP INDEX audit_log_account_idx`);
    await q.query(`DROP TABLE audit_log`);
  }
}
