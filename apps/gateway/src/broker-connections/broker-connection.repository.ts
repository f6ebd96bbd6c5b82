import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Account } from '../accounts/account.js';
import type { OAuthBroker } from '../config/config.js';
import { BROKER_REAUTH_BLOCK, type BrokerConnection, type ConnectionStatus } from './broker-connection.js';

interface ConnectionRow {
  account_id: string;
  broker: OAuthBroker;
  status: ConnectionStatus;
  access_expires_at: Date | null;
  refresh_expires_at: Date | null;
  next_refresh_at: Date | null;
  last_refresh_at: Date | null;
  last_refresh_outcome: string | null;
  refresh_failures: number;
  connected_at: Date;
}

/** A pending authorization (`broker_authorizations`); its verifier is still ciphertext. */
export interface PendingAuthorization {
  readonly accountId: string;
  readonly broker: OAuthBroker;
  readonly redirectUri: string;
  readonly sealedVerifier: Buffer | null;
  readonly expiresAt: number;
}

interface PendingRow {
  account_id: string;
  broker: OAuthBroker;
  redirect_uri: string;
  pkce_verifier: Buffer | null;
  expires_at: Date;
}

const ms = (d: Date | null) => (d === null ? null : d.getTime());
const at = (t: number | null) => (t === null ? null : new Date(t));

function toConnection(r: ConnectionRow): BrokerConnection {
  return {
    accountId: r.account_id,
    broker: r.broker,
    status: r.status,
    accessExpiresAt: ms(r.access_expires_at),
    refreshExpiresAt: ms(r.refresh_expires_at),
    nextRefreshAt: ms(r.next_refresh_at),
    lastRefreshAt: ms(r.last_refresh_at),
    lastRefreshOutcome: r.last_refresh_outcome,
    refreshFailures: r.refresh_failures,
    connectedAt: r.connected_at.getTime(),
  };
}

/** What a refresh (or a new login) leaves of the connection. */
export interface ConnectionUpdate {
  readonly status: ConnectionStatus;
  readonly accessExpiresAt: number | null;
  readonly refreshExpiresAt: number | null;
  readonly nextRefreshAt: number | null;
  readonly lastRefreshAt: number | null;
  readonly lastRefreshOutcome: string | null;
  readonly refreshFailures: number;
}

/**
 * `broker_connections` and `broker_authorizations` (SQL), and the account's entry block while its connection
 * needs a new login (`accounts.entries_blocked_reason` with the `broker_reauth_required:` reason).
 */
@Injectable()
export class BrokerConnectionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(accountId: string): Promise<BrokerConnection | null> {
    const [row] = await this.dataSource.query<ConnectionRow[]>(
      `SELECT * FROM broker_connections WHERE account_id = $1`,
      [accountId],
    );
    return row ? toConnection(row) : null;
  }

  /** The account's id, name, broker and environment (what a credential's owner is made of). */
  async account(accountId: string): Promise<Pick<Account, 'id' | 'name' | 'broker' | 'environment'> | null> {
    const [row] = await this.dataSource.query<Pick<Account, 'id' | 'name' | 'broker' | 'environment'>[]>(
      `SELECT id, name, broker, environment FROM accounts WHERE id = $1`,
      [accountId],
    );
    return row ?? null;
  }

  async list(): Promise<BrokerConnection[]> {
    const rows = await this.dataSource.query<ConnectionRow[]>(`SELECT * FROM broker_connections ORDER BY account_id`);
    return rows.map(toConnection);
  }

  async addPending(stateHash: string, p: PendingAuthorization, requestedBy: string, now: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO broker_authorizations
         (state_hash, account_id, broker, redirect_uri, pkce_verifier, requested_by, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [stateHash, p.accountId, p.broker, p.redirectUri, p.sealedVerifier, requestedBy, at(p.expiresAt), at(now)],
    );
  }

  /**
   * Takes the pending authorization of `stateHash` at `broker` out of the table (single use: a second callback
   * with the same state finds nothing), expired or not; also drops every expired one.
   */
  async takePending(stateHash: string, broker: OAuthBroker, now: number): Promise<PendingAuthorization | null> {
    const [rows] = await this.dataSource.query<[PendingRow[], number]>(
      `DELETE FROM broker_authorizations WHERE state_hash = $1 AND broker = $2
       RETURNING account_id, broker, redirect_uri, pkce_verifier, expires_at`,
      [stateHash, broker],
    );
    await this.dataSource.query(`DELETE FROM broker_authorizations WHERE expires_at < $1`, [at(now)]);
    const row = rows[0];
    return row
      ? {
          accountId: row.account_id,
          broker: row.broker,
          redirectUri: row.redirect_uri,
          sealedVerifier: row.pkce_verifier,
          expiresAt: row.expires_at.getTime(),
        }
      : null;
  }

  /**
   * Records a completed login: the connection `connected` with its new expiries, and the account's entry
   * block for a needed login lifted (one transaction).
   */
  async connected(accountId: string, broker: OAuthBroker, u: ConnectionUpdate, now: number): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO broker_connections (account_id, broker, status, access_expires_at, refresh_expires_at,
           next_refresh_at, last_refresh_at, last_refresh_outcome, refresh_failures, connected_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (account_id) DO UPDATE SET broker = $2, status = $3, access_expires_at = $4,
           refresh_expires_at = $5, next_refresh_at = $6, last_refresh_at = $7, last_refresh_outcome = $8,
           refresh_failures = $9, connected_at = $10, updated_at = $10`,
        [
          accountId,
          broker,
          u.status,
          at(u.accessExpiresAt),
          at(u.refreshExpiresAt),
          at(u.nextRefreshAt),
          at(u.lastRefreshAt),
          u.lastRefreshOutcome,
          u.refreshFailures,
          at(now),
        ],
      );
      await this.liftReauthBlock(tx, accountId);
    });
  }

  /** Forgets the connection and any pending authorization of the account; lifts its reauth block. */
  async forget(accountId: string): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(`DELETE FROM broker_authorizations WHERE account_id = $1`, [accountId]);
      const [, deleted] = await tx.query<[unknown, number]>(`DELETE FROM broker_connections WHERE account_id = $1`, [
        accountId,
      ]);
      await this.liftReauthBlock(tx, accountId);
      return deleted > 0;
    });
  }

  /** The accounts whose refresh is due at `now` (connected or failing, with a refresh time). */
  async due(now: number, limit = 100): Promise<string[]> {
    const rows = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT account_id FROM broker_connections
        WHERE next_refresh_at <= $1 AND status IN ('connected', 'refresh_failing')
        ORDER BY next_refresh_at LIMIT $2`,
      [at(now), limit],
    );
    return rows.map((r) => r.account_id);
  }

  /**
   * Runs `work` on the account's connection while holding its row lock, if its refresh is due at `now` and
   * no other instance holds the lock (`FOR UPDATE SKIP LOCKED`: at most one refresh per connection at a
   * time across instances); `work`'s update is written in the same transaction, and with `blockReason` the
   * account's entries are blocked. Null when nothing was due or another instance is at it.
   */
  async whileLockedIfDue<T>(
    accountId: string,
    now: number,
    work: (c: BrokerConnection) => Promise<{ update: ConnectionUpdate; blockReason: string | null; result: T }>,
  ): Promise<T | null> {
    return this.dataSource.transaction(async (tx) => {
      const [row] = await tx.query<ConnectionRow[]>(
        `SELECT * FROM broker_connections
          WHERE account_id = $1 AND next_refresh_at <= $2 AND status IN ('connected', 'refresh_failing')
          FOR UPDATE SKIP LOCKED`,
        [accountId, at(now)],
      );
      if (!row) {
        return null;
      }
      const { update: u, blockReason, result } = await work(toConnection(row));
      await tx.query(
        `UPDATE broker_connections SET status = $2, access_expires_at = $3, refresh_expires_at = $4,
           next_refresh_at = $5, last_refresh_at = $6, last_refresh_outcome = $7, refresh_failures = $8,
           updated_at = now()
         WHERE account_id = $1`,
        [
          accountId,
          u.status,
          at(u.accessExpiresAt),
          at(u.refreshExpiresAt),
          at(u.nextRefreshAt),
          at(u.lastRefreshAt),
          u.lastRefreshOutcome,
          u.refreshFailures,
        ],
      );
      if (blockReason !== null) {
        // A reauth block takes the place of a restart block (the account cannot be reconciled without its
        // broker either); any other block stays, and so does the connection's status.
        await tx.query(
          `UPDATE accounts SET entries_blocked_reason = $2, updated_at = now()
            WHERE id = $1 AND (entries_blocked_reason IS NULL OR entries_blocked_reason LIKE 'restart:%'
                               OR entries_blocked_reason LIKE $3)`,
          [accountId, blockReason, `${BROKER_REAUTH_BLOCK}%`],
        );
      }
      return result;
    });
  }

  private async liftReauthBlock(tx: EntityManager, accountId: string): Promise<void> {
    await tx.query(
      `UPDATE accounts SET entries_blocked_reason = NULL, updated_at = now()
        WHERE id = $1 AND entries_blocked_reason LIKE $2`,
      [accountId, `${BROKER_REAUTH_BLOCK}%`],
    );
  }
}
