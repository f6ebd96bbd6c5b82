import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Environment } from '../auth/principal.js';
import type { BrokerSecrets, CredentialSummary } from './broker-secrets.js';
import type { KeyProviderName, WrappedDataKey } from './key-provider.js';

/** One `broker_credentials` row: the envelope, and what is kept in clear beside it. Times are epoch ms. */
export interface StoredCredential {
  readonly accountId: string;
  readonly broker: string;
  readonly environment: Environment;
  readonly kind: BrokerSecrets['kind'];
  readonly keyProvider: KeyProviderName;
  readonly keyId: string;
  readonly wrappedKey: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
  readonly ciphertext: Buffer;
  readonly accessExpiresAt: number | null;
  readonly refreshExpiresAt: number | null;
}

/** A row as key rotation sees it: whose it is (its encryption context) and its wrapped data key. */
export interface WrappedRow {
  readonly accountId: string;
  readonly broker: string;
  readonly environment: Environment;
  readonly key: WrappedDataKey;
}

interface Row {
  account_id: string;
  broker: string;
  environment: Environment;
  kind: BrokerSecrets['kind'];
  key_provider: KeyProviderName;
  key_id: string;
  wrapped_key: Buffer;
  iv: Buffer;
  auth_tag: Buffer;
  ciphertext: Buffer;
  access_expires_at: Date | null;
  refresh_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());
const date = (n: number | null): Date | null => (n === null ? null : new Date(n));

function toStored(r: Row): StoredCredential {
  return {
    accountId: r.account_id,
    broker: r.broker,
    environment: r.environment,
    kind: r.kind,
    keyProvider: r.key_provider,
    keyId: r.key_id,
    wrappedKey: r.wrapped_key,
    iv: r.iv,
    authTag: r.auth_tag,
    ciphertext: r.ciphertext,
    accessExpiresAt: ms(r.access_expires_at),
    refreshExpiresAt: ms(r.refresh_expires_at),
  };
}

/**
 * The `broker_credentials` table (SQL): one envelope-encrypted credential per account. It stores and
 * returns ciphertext only; `list` and `countByKey` never read the secret columns.
 */
@Injectable()
export class BrokerCredentialRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(accountId: string): Promise<StoredCredential | null> {
    const [row] = await this.dataSource.query<Row[]>(`SELECT * FROM broker_credentials WHERE account_id = $1`, [
      accountId,
    ]);
    return row ? toStored(row) : null;
  }

  /** Inserts the account's credential, or replaces its earlier one (keeping `created_at`). */
  async put(c: StoredCredential): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO broker_credentials (account_id, broker, environment, kind, key_provider, key_id, wrapped_key, iv,
         auth_tag, ciphertext, access_expires_at, refresh_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (account_id) DO UPDATE SET
         broker = EXCLUDED.broker, environment = EXCLUDED.environment, kind = EXCLUDED.kind,
         key_provider = EXCLUDED.key_provider, key_id = EXCLUDED.key_id, wrapped_key = EXCLUDED.wrapped_key,
         iv = EXCLUDED.iv, auth_tag = EXCLUDED.auth_tag, ciphertext = EXCLUDED.ciphertext,
         access_expires_at = EXCLUDED.access_expires_at, refresh_expires_at = EXCLUDED.refresh_expires_at,
         updated_at = now()`,
      [
        c.accountId,
        c.broker,
        c.environment,
        c.kind,
        c.keyProvider,
        c.keyId,
        c.wrappedKey,
        c.iv,
        c.authTag,
        c.ciphertext,
        date(c.accessExpiresAt),
        date(c.refreshExpiresAt),
      ],
    );
  }

  /** Deletes the account's credential; false when there was none. */
  async delete(accountId: string): Promise<boolean> {
    const [, affected] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM broker_credentials WHERE account_id = $1`,
      [accountId],
    );
    return affected > 0;
  }

  /** Every credential, by account id, without its secret columns. */
  async list(): Promise<CredentialSummary[]> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT account_id, broker, environment, kind, key_id, access_expires_at, refresh_expires_at, updated_at
         FROM broker_credentials ORDER BY account_id`,
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      broker: r.broker,
      environment: r.environment,
      kind: r.kind,
      keyId: r.key_id,
      accessExpiresAt: ms(r.access_expires_at),
      refreshExpiresAt: ms(r.refresh_expires_at),
      updatedAt: r.updated_at.getTime(),
    }));
  }

  /**
   * Up to `limit` rows of `provider` whose data key is not wrapped under `keyId`, after account id
   * `after` (null: from the start), by account id: key rotation's next batch.
   */
  async pageNotUnder(
    provider: KeyProviderName,
    keyId: string,
    after: string | null,
    limit: number,
  ): Promise<WrappedRow[]> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT account_id, broker, environment, key_id, wrapped_key FROM broker_credentials
        WHERE key_provider = $1 AND key_id <> $2 AND ($3::uuid IS NULL OR account_id > $3::uuid)
        ORDER BY account_id LIMIT $4`,
      [provider, keyId, after, limit],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      broker: r.broker,
      environment: r.environment,
      key: { keyId: r.key_id, wrapped: r.wrapped_key },
    }));
  }

  /**
   * Replaces the row's wrapped data key `from` by `to` (the same data key, wrapped under another key),
   * only if the row still holds exactly `from`: a row re-wrapped meanwhile (a rotation run before a
   * crash, another instance) or stored anew is left alone, so nothing is ever wrapped twice or paired
   * with another data key's ciphertext. True when the row was changed. `updated_at` stays: the
   * credential itself did not change.
   */
  async rewrap(accountId: string, from: WrappedDataKey, to: WrappedDataKey): Promise<boolean> {
    const [, affected] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE broker_credentials SET key_id = $4, wrapped_key = $5
        WHERE account_id = $1 AND key_id = $2 AND wrapped_key = $3`,
      [accountId, from.keyId, from.wrapped, to.keyId, to.wrapped],
    );
    return affected > 0;
  }

  /** How many credentials each key wraps, by provider and key id. */
  async countByKey(): Promise<{ keyProvider: KeyProviderName; keyId: string; credentials: number }[]> {
    const rows = await this.dataSource.query<{ key_provider: KeyProviderName; key_id: string; n: number }[]>(
      `SELECT key_provider, key_id, count(*)::int AS n FROM broker_credentials
        GROUP BY key_provider, key_id ORDER BY key_provider, key_id`,
    );
    return rows.map((r) => ({ keyProvider: r.key_provider, keyId: r.key_id, credentials: r.n }));
  }
}
