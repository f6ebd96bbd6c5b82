import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Risk controls (README, "Risk controls"):
 * - `risk_limits`: every version of an account's pre-trade limits, append-only, with who changed them,
 *   when and why. The account's limits are its highest version; none means the configured defaults.
 * - the global trading state (one row) and who set an account's state and why, plus
 *   `trading_state_changes`, the append-only history of both (kill switch, re-arm, OTR, risk staff).
 * - `order_messages`: one row per message the gateway sent or will send to the broker for an account
 *   (new order, modification, cancellation), append-only, and who sent it: the message-rate check and
 *   the order-to-trade ratio count the traders' (not the kill switch's cancels).
 * - an order keeps the trading state it was accepted in: the kill switch cancels every order accepted
 *   before the halt and leaves the exits accepted during it.
 * - positions learn the trading day their `realized_pnl` was last changed in and what it was at that
 *   day's start, for the daily loss check.
 */
export class RiskControls1795219200000 implements MigrationInterface {
  name = 'RiskControls1795219200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE risk_limits (
        account_id uuid NOT NULL REFERENCES accounts(id),
        version integer NOT NULL CHECK (version > 0),
        limits jsonb NOT NULL,
        changed_by text NOT NULL,
        reason text NOT NULL,
        changed_at timestamptz NOT NULL,
        PRIMARY KEY (account_id, version)
      )`);
    await q.query(`
      CREATE TABLE global_trading_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        state text NOT NULL CHECK (state IN ('active', 'reducing', 'halted')),
        reason text,
        changed_by text,
        changed_at timestamptz NOT NULL
      )`);
    await q.query(`INSERT INTO global_trading_state (state, changed_at) VALUES ('active', now())`);
    await q.query(`ALTER TABLE accounts ADD COLUMN trading_state_reason text`);
    await q.query(`ALTER TABLE accounts ADD COLUMN trading_state_changed_by text`);
    await q.query(`ALTER TABLE accounts ADD COLUMN trading_state_changed_at timestamptz`);
    await q.query(`
      CREATE TABLE trading_state_changes (
        id bigserial PRIMARY KEY,
        scope text NOT NULL CHECK (scope IN ('global', 'account')),
        account_id uuid REFERENCES accounts(id),
        previous_state text NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'reducing', 'halted')),
        source text NOT NULL,
        reason text NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL,
        CHECK ((scope = 'global') = (account_id IS NULL))
      )`);
    await q.query(`CREATE INDEX trading_state_changes_account_idx ON trading_state_changes (account_id, id)`);
    await q.query(`
      CREATE TABLE order_messages (
        id bigserial PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id),
        order_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('order', 'modification', 'cancellation')),
        initiator text NOT NULL CHECK (initiator IN ('trader', 'kill_switch')),
        trading_day date NOT NULL,
        sent_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX order_messages_account_sent_idx ON order_messages (account_id, sent_at)`);
    await q.query(`CREATE INDEX order_messages_account_day_idx ON order_messages (account_id, trading_day, kind)`);
    await q.query(`ALTER TABLE orders ADD COLUMN accepted_trading_state text`);
    await q.query(`ALTER TABLE positions ADD COLUMN trading_day date`);
    await q.query(`ALTER TABLE positions ADD COLUMN day_start_realized_pnl numeric NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE executions ADD COLUMN trading_day date`);
    await q.query(`CREATE INDEX executions_account_day_idx ON executions (account_id, trading_day)`);
    for (const table of ['risk_limits', 'trading_state_changes', 'order_messages']) {
      await q.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION forbid_mutation()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['order_messages', 'trading_state_changes', 'risk_limits']) {
      await q.query(`DROP TRIGGER ${table}_append_only ON ${table}`);
    }
    await q.query(`DROP INDEX executions_account_day_idx`);
    await q.query(`ALTER TABLE executions DROP COLUMN trading_day`);
    await q.query(`ALTER TABLE positions DROP COLUMN day_start_realized_pnl`);
    await q.query(`ALTER TABLE positions DROP COLUMN trading_day`);
    await q.query(`ALTER TABLE orders DROP COLUMN accepted_trading_state`);
    await q.query(`DROP TABLE order_messages`);
    await q.query(`DROP TABLE trading_state_changes`);
    await q.query(`ALTER TABLE accounts DROP COLUMN trading_state_changed_at`);
    await q.query(`ALTER TABLE accounts DROP COLUMN trading_state_changed_by`);
    await q.query(`ALTER TABLE accounts DROP COLUMN trading_state_reason`);
    await q.query(`DROP TABLE global_trading_state`);
    await q.query(`DROP TABLE risk_limits`);
  }
}
