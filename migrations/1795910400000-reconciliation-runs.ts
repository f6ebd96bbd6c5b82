import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The job log of account reconciliation (apps/gateway/src/orders/reconciliation/): one row per run of an
 * account's pass, on whichever instance ran it: the BullMQ job (null when run in process while Redis was
 * down), what started it, when it started and finished, and its outcome (`clean`: nothing left unsettled;
 * `breaks`: an order the broker's evidence could not settle; `failed`: the pass itself failed). A run whose
 * instance died has no `finished_at` and no outcome. Runs of one account never overlap: each holds the
 * account's reconciliation lock (a PostgreSQL advisory lock) from before its row is written until after it
 * is finished. Backs `GET /v1/accounts/{id}/reconciliation`.
 */
export class ReconciliationRuns1795910400000 implements MigrationInterface {
  name = 'ReconciliationRuns1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reconciliation_runs (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id),
        environment text NOT NULL CHECK (environment IN ('paper', 'live')),
        trigger text NOT NULL CHECK (trigger IN ('startup', 'scheduled', 'on_demand')),
        instance_id text NOT NULL,
        job_id text,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        outcome text CHECK (outcome IN ('clean', 'breaks', 'failed')),
        corrections integer NOT NULL DEFAULT 0 CHECK (corrections >= 0),
        unresolved integer NOT NULL DEFAULT 0 CHECK (unresolved >= 0),
        error text,
        CHECK ((finished_at IS NULL) = (outcome IS NULL)),
        CHECK (finished_at IS NULL OR finished_at >= started_at)
      )`);
    await q.query(`CREATE INDEX reconciliation_runs_account_idx ON reconciliation_runs (account_id, started_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reconciliation_runs`);
  }
}
