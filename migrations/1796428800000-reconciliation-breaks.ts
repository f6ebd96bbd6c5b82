import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Position reconciliation's breaks (apps/gateway/src/orders/position-reconciler.ts): a symbol whose
 * position, after the pass brought in the fills it could, still differs from the broker's. One row per
 * break: `ours` and `broker` as the pass found them (signed, shares or contracts), the broker's own
 * record of the position, the broker executions we never applied that bear on it (`executions`, may be
 * empty), and its life: `open` (entries in the symbol blocked), `acknowledged` by risk staff with a reason
 * (entries allowed again, the difference still there), `resolved` by a pass that no longer finds it (or
 * finds a different difference, which is a new break). At most one break per account, kind and symbol is
 * open or acknowledged at a time. `reconciliation_run_breaks` says which passes saw which breaks (the
 * `breaks` of `GET /v1/accounts/{id}/reconciliation`). Also allows the `reconnect` trigger: the pass a
 * broker reconnect runs is logged like the others.
 */
export class ReconciliationBreaks1796428800000 implements MigrationInterface {
  name = 'ReconciliationBreaks1796428800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_trigger_check`);
    await q.query(`
      ALTER TABLE reconciliation_runs ADD CONSTRAINT reconciliation_runs_trigger_check
        CHECK (trigger IN ('startup', 'scheduled', 'on_demand', 'reconnect'))`);
    await q.query(`
      CREATE TABLE reconciliation_breaks (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id),
        kind text NOT NULL CHECK (kind IN ('position', 'order', 'execution')),
        symbol text NOT NULL,
        venue text NOT NULL,
        environment text NOT NULL CHECK (environment IN ('paper', 'live')),
        ours numeric NOT NULL,
        broker numeric NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'resolved', 'acknowledged')),
        executions jsonb NOT NULL DEFAULT '[]'::jsonb,
        broker_payload jsonb,
        found_run_id uuid NOT NULL REFERENCES reconciliation_runs(id),
        found_at timestamptz NOT NULL,
        resolved_run_id uuid REFERENCES reconciliation_runs(id),
        resolved_at timestamptz,
        acknowledged_at timestamptz,
        acknowledged_by text,
        acknowledged_reason text,
        CHECK (ours <> broker),
        CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
        CHECK (status <> 'acknowledged' OR (acknowledged_at IS NOT NULL AND acknowledged_reason IS NOT NULL))
      )`);
    await q.query(`
      CREATE UNIQUE INDEX reconciliation_breaks_current_idx ON reconciliation_breaks (account_id, kind, symbol)
        WHERE status IN ('open', 'acknowledged')`);
    await q.query(
      `CREATE INDEX reconciliation_breaks_account_idx ON reconciliation_breaks (account_id, found_at DESC)`,
    );
    await q.query(`
      CREATE TABLE reconciliation_run_breaks (
        run_id uuid NOT NULL REFERENCES reconciliation_runs(id),
        break_id uuid NOT NULL REFERENCES reconciliation_breaks(id),
        PRIMARY KEY (run_id, break_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reconciliation_run_breaks`);
    await q.query(`DROP TABLE reconciliation_breaks`);
    await q.query(`DELETE FROM reconciliation_runs WHERE trigger = 'reconnect'`);
    await q.query(`ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_trigger_check`);
    await q.query(`
      ALTER TABLE reconciliation_runs ADD CONSTRAINT reconciliation_runs_trigger_check
        CHECK (trigger IN ('startup', 'scheduled', 'on_demand'))`);
  }
}
