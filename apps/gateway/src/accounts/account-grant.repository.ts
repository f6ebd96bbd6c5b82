import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountGrant } from './account.js';

interface GrantRow {
  subject: string;
  account_id: string;
  roles: string[];
  granted_by: string;
  granted_at: Date;
}

function toGrant(r: GrantRow): AccountGrant {
  return {
    subject: r.subject,
    accountId: r.account_id,
    roles: r.roles,
    grantedBy: r.granted_by,
    grantedAt: r.granted_at,
  };
}

/** The `account_grants` table (SQL): who may act on which account, with which roles there. */
@Injectable()
export class AccountGrantRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(subject: string, accountId: string): Promise<AccountGrant | null> {
    const [row] = await this.dataSource.query<GrantRow[]>(
      `SELECT * FROM account_grants WHERE subject = $1 AND account_id = $2`,
      [subject, accountId],
    );
    return row ? toGrant(row) : null;
  }

  /** The ids of the accounts granted to `subject`. */
  async accountIdsOf(subject: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT account_id FROM account_grants WHERE subject = $1`,
      [subject],
    );
    return rows.map((r) => r.account_id);
  }

  /** The account's grants, by subject. */
  async listForAccount(accountId: string): Promise<AccountGrant[]> {
    const rows = await this.dataSource.query<GrantRow[]>(
      `SELECT * FROM account_grants WHERE account_id = $1 ORDER BY subject`,
      [accountId],
    );
    return rows.map(toGrant);
  }

  /** Inserts the grant, or replaces the subject's earlier grant on the account. */
  async put(grant: AccountGrant): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO account_grants (subject, account_id, roles, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (subject, account_id)
       DO UPDATE SET roles = EXCLUDED.roles, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`,
      [grant.subject, grant.accountId, grant.roles, grant.grantedBy, grant.grantedAt],
    );
  }

  /** Withdraws the grant; false when there was none. */
  async delete(subject: string, accountId: string): Promise<boolean> {
    const [, affected] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM account_grants WHERE subject = $1 AND account_id = $2`,
      [subject, accountId],
    );
    return affected > 0;
  }
}
