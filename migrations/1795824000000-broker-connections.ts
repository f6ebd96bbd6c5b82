import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Broker connections over OAuth2 (apps/gateway/src/broker-connections/; the tokens themselves are in
 * `broker_credentials`, encrypted by the credential vault):
 * - `broker_connections`: one row per connected account: its status, the access and refresh expiries
 *   (copies of what the encrypted credential says, so that nothing is decrypted to show or schedule them),
 *   when the next refresh is due (with jitter), the last refresh and its outcome (an OAuth error code or
 *   `ok`, never a token), and how many refreshes in a row failed for a reason that may pass.
 * - `broker_authorizations`: the pending authorization requests. `state` is kept only as its SHA-256
 *   (the state itself travels in the browser's URLs); the PKCE verifier is AES-256-GCM ciphertext under a
 *   key derived from the state (HKDF-SHA256), so a copy of the table alone yields no verifier. Single use:
 *   the callback deletes the row it completes.
 */
export class BrokerConnections1795824000000 implements MigrationInterface {
  name = 'BrokerConnections1795824000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE broker_connections (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        broker text NOT NULL,
        status text NOT NULL CHECK (status IN ('connected', 'refresh_failing', 'reauth_required', 'disconnected')),
        access_expires_at timestamptz,
        refresh_expires_at timestamptz,
        next_refresh_at timestamptz,
        last_refresh_at timestamptz,
        last_refresh_outcome text,
        refresh_failures integer NOT NULL DEFAULT 0 CHECK (refresh_failures >= 0),
        connected_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX broker_connections_due_idx ON broker_connections (next_refresh_at)
                    WHERE next_refresh_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE broker_authorizations (
        state_hash text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
        account_id uuid NOT NULL REFERENCES accounts(id),
        broker text NOT NULL,
        redirect_uri text NOT NULL,
        pkce_verifier bytea,
        requested_by text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX broker_authorizations_account_idx ON broker_authorizations (account_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE broker_authorizations`);
    await q.query(`DROP TABLE broker_connections`);
  }
}
