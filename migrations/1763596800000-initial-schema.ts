import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema: accounts, orders, order events (append-only, gapless per-account seq), executions
 * (append-only, unique per broker execution id), positions, idempotency keys, dev signing keys and the
 * paper venue's book. Decimal values are `numeric` (never float).
 */
export class InitialSchema1763596800000 implements MigrationInterface {
  name = 'InitialSchema1763596800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        environment text NOT NULL CHECK (environment IN ('paper', 'live')),
        broker text NOT NULL,
        trading_state text NOT NULL DEFAULT 'active' CHECK (trading_state IN ('active', 'reducing', 'halted')),
        entries_blocked_reason text,
        last_seq bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id),
        client_order_id text NOT NULL,
        environment text NOT NULL CHECK (environment IN ('paper', 'live')),
        venue text NOT NULL,
        symbol text NOT NULL,
        side text NOT NULL CHECK (side IN ('buy', 'sell')),
        type text NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit')),
        time_in_force text NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
        position_effect text CHECK (position_effect IN ('open', 'close')),
        quantity numeric NOT NULL CHECK (quantity > 0),
        limit_price numeric CHECK (limit_price > 0),
        stop_price numeric CHECK (stop_price > 0),
        status text NOT NULL,
        filled_quantity numeric NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
        average_fill_price numeric,
        filled_notional numeric NOT NULL DEFAULT 0,
        broker_order_id text,
        reject_reason_code text,
        reject_reason_message text,
        replaces_order_id uuid REFERENCES orders(id),
        replaced_by_order_id uuid REFERENCES orders(id),
        ttl_ms integer,
        overfilled boolean NOT NULL DEFAULT false,
        cancel_requested_at timestamptz,
        needs_reconciliation boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        last_seq bigint NOT NULL,
        UNIQUE (account_id, client_order_id)
      )`);
    await q.query(`CREATE INDEX orders_account_created_idx ON orders (account_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX orders_account_status_idx ON orders (account_id, status)`);
    await q.query(`
      CREATE TABLE order_events (
        account_id uuid NOT NULL REFERENCES accounts(id),
        seq bigint NOT NULL CHECK (seq > 0),
        order_id uuid NOT NULL REFERENCES orders(id),
        event text NOT NULL,
        "order" jsonb NOT NULL,
        execution jsonb,
        broker_payload jsonb,
        ts timestamptz NOT NULL,
        PRIMARY KEY (account_id, seq)
      )`);
    await q.query(`CREATE INDEX order_events_order_idx ON order_events (order_id)`);
    await q.query(`
      CREATE TABLE executions (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id),
        order_id uuid NOT NULL REFERENCES orders(id),
        venue text NOT NULL,
        broker_execution_id text NOT NULL,
        symbol text NOT NULL,
        side text NOT NULL CHECK (side IN ('buy', 'sell')),
        quantity numeric NOT NULL CHECK (quantity > 0),
        price numeric NOT NULL CHECK (price > 0),
        executed_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        overfill boolean NOT NULL DEFAULT false,
        applied boolean NOT NULL DEFAULT true,
        broker_payload jsonb,
        UNIQUE (venue, broker_execution_id)
      )`);
    await q.query(`CREATE INDEX executions_account_idx ON executions (account_id, received_at, id)`);
    await q.query(`
      CREATE TABLE positions (
        account_id uuid NOT NULL REFERENCES accounts(id),
        symbol text NOT NULL,
        quantity numeric NOT NULL,
        average_price numeric NOT NULL,
        realized_pnl numeric NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (account_id, symbol)
      )`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        account_id uuid NOT NULL REFERENCES accounts(id),
        client_order_id text NOT NULL,
        request_hash text NOT NULL,
        order_id uuid NOT NULL REFERENCES orders(id),
        state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
        created_at timestamptz NOT NULL,
        completed_at timestamptz,
        PRIMARY KEY (account_id, client_order_id)
      )`);
    await q.query(`
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE paper_venue_orders (
        broker_order_id text PRIMARY KEY,
        client_order_id text NOT NULL UNIQUE,
        record jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Events and executions are audit evidence: no UPDATE, no DELETE, ever.
    await q.query(`
      CREATE FUNCTION forbid_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events
      FOR EACH ROW EXECUTE FUNCTION forbid_mutation()`);
    await q.query(`CREATE TRIGGER executions_append_only BEFORE UPDATE OR DELETE ON executions
      FOR EACH ROW EXECUTE FUNCTION forbid_mutation()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER executions_append_only ON executions`);
    await q.query(`DROP TRIGGER order_events_append_only ON order_events`);
    await q.query(`DROP FUNCTION forbid_mutation()`);
    await q.query(`DROP TABLE paper_venue_orders`);
    await q.query(`DROP TABLE signing_keys`);
    await q.query(`DROP TABLE idempotency_keys`);
    await q.query(`DROP TABLE positions`);
    await q.query(`DROP TABLE executions`);
    await q.query(`DROP TABLE order_events`);
    await q.query(`DROP TABLE orders`);
    await q.query(`DROP TABLE accounts`);
  }
}
