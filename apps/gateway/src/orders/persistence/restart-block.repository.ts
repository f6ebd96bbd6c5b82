import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The restart block of an account (`accounts.entries_blocked_reason` with a `restart:` reason): set at
 * start-up while orders are uncertain, lifted by reconciliation. One query style: SQL.
 */
@Injectable()
export class RestartBlockRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Blocks the account's entries with `reason`, unless another (non-restart) block is in force. */
  async block(accountId: string, reason: string, prefix: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE accounts SET entries_blocked_reason = $2, updated_at = now()
        WHERE id = $1 AND (entries_blocked_reason IS NULL OR entries_blocked_reason LIKE $3)`,
      [accountId, reason, `${prefix}%`],
    );
  }

  /** Lifts any restart block of the accounts in `accountIds` that have no uncertain order left. */
  async liftWhereSettled(accountIds: readonly string[], prefix: string, uncertain: readonly string[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE accounts a SET entries_blocked_reason = NULL, updated_at = now()
        WHERE entries_blocked_reason LIKE $1 AND a.id = ANY($3::uuid[])
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.account_id = a.id AND o.status = ANY($2))`,
      [`${prefix}%`, [...uncertain], [...accountIds]],
    );
  }

  /** Lifts the account's block if it is still exactly `reason`. */
  async lift(accountId: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE accounts SET entries_blocked_reason = NULL, updated_at = now()
        WHERE id = $1 AND entries_blocked_reason = $2`,
      [accountId, reason],
    );
  }
}
