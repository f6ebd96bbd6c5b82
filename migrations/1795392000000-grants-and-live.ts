import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity and access (README, "Identity, environments and audit"):
 * - `account_grants`: which subject (a user, or a client of client-credentials) may act on which account,
 *   and with which roles there (its token's roles are cut down to these on that account). A token's own
 *   `accounts` claim still grants accounts with all its roles (the dev issuer's quick start).
 * - paper/live isolation: a live account also needs its own `live_enabled` flag before any order of it
 *   is accepted, whatever the token may do. Off for every account until an admin sets it.
 */
export class GrantsAndLive1795392000000 implements MigrationInterface {
  name = 'GrantsAndLive1795392000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN live_enabled boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE TABLE account_grants (
        subject text NOT NULL,
        account_id uuid NOT NULL REFERENCES accounts(id),
        roles text[] NOT NULL CHECK (roles <@ ARRAY['viewer', 'trader', 'risk', 'admin'] AND cardinality(roles) > 0),
        granted_by text NOT NULL,
        granted_at timestamptz NOT NULL,
        PRIMARY KEY (subject, account_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE account_grants`);
    await q.query(`ALTER TABLE accounts DROP COLUMN live_enabled`);
  }
}
