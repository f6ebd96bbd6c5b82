import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Broker credentials, one row per account, envelope-encrypted (apps/gateway/src/credentials/): the
 * secrets as AES-256-GCM `ciphertext` (with its `iv` and `auth_tag`) under a data key stored only
 * wrapped (`wrapped_key`) by the key provider's key `key_id`, both bound to the owner's encryption
 * context `{accountId, broker, environment}`. What is not secret stays in clear for listing and for the
 * token refresh's schedule: the kind and the expiries. `key_id` is indexed for key rotation, which
 * re-wraps the rows still under an old key.
 */
export class BrokerCredentials1795737600000 implements MigrationInterface {
  name = 'BrokerCredentials1795737600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE broker_credentials (
        account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
        broker text NOT NULL,
        environment text NOT NULL CHECK (environment IN ('paper', 'live')),
        kind text NOT NULL CHECK (kind IN ('oauth', 'api_key')),
        key_provider text NOT NULL CHECK (key_provider IN ('aws-kms', 'local')),
        key_id text NOT NULL,
        wrapped_key bytea NOT NULL CHECK (octet_length(wrapped_key) > 0),
        iv bytea NOT NULL CHECK (octet_length(iv) = 12),
        auth_tag bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
        ciphertext bytea NOT NULL,
        access_expires_at timestamptz,
        refresh_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX broker_credentials_key_idx ON broker_credentials (key_id, account_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX broker_credentials_key_idx`);
    await q.query(`DROP TABLE broker_credentials`);
  }
}
