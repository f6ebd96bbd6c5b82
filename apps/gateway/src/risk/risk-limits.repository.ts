import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope } from '../persistence/account-scope.js';

/** One stored version of an account's limits; `limits` is the API's decimal-string form, as stored. */
export interface StoredRiskLimits {
  readonly accountId: string;
  /** 1, 2, …: version 0 is the configured defaults, never stored. */
  readonly version: number;
  /** Parsed by the reader with `riskLimitsSchema` (the rows are written only after it validated them). */
  readonly limits: unknown;
  readonly changedBy: string;
  readonly reason: string;
  readonly changedAt: Date;
}

interface RiskLimitsRow {
  account_id: string;
  version: number;
  limits: unknown;
  changed_by: string;
  reason: string;
  changed_at: Date;
}

const toStored = (r: RiskLimitsRow): StoredRiskLimits => ({
  accountId: r.account_id,
  version: r.version,
  limits: r.limits,
  changedBy: r.changed_by,
  reason: r.reason,
  changedAt: r.changed_at,
});

/** The `risk_limits` table (SQL): every version of every account's limits, append-only. */
@Injectable()
export class RiskLimitsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The account's latest version, in its transaction when `scope` is given; null when it has none. */
  async latest(accountId: string, scope?: AccountScope): Promise<StoredRiskLimits | null> {
    const [row] = await (scope?.manager ?? this.dataSource.manager).query<RiskLimitsRow[]>(
      `SELECT * FROM risk_limits WHERE account_id = $1 ORDER BY version DESC LIMIT 1`,
      [accountId],
    );
    return row ? toStored(row) : null;
  }

  /** Every version of the account, newest first. */
  async history(accountId: string): Promise<StoredRiskLimits[]> {
    const rows = await this.dataSource.query<RiskLimitsRow[]>(
      `SELECT * FROM risk_limits WHERE account_id = $1 ORDER BY version DESC`,
      [accountId],
    );
    return rows.map(toStored);
  }

  async insert(scope: AccountScope, version: StoredRiskLimits): Promise<void> {
    await scope.manager.query(
      `INSERT INTO risk_limits (account_id, version, limits, changed_by, reason, changed_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6)`,
      [
        version.accountId,
        version.version,
        JSON.stringify(version.limits),
        version.changedBy,
        version.reason,
        version.changedAt,
      ],
    );
  }
}
