import type { TradingState } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AccountScope, TransactionScope } from '../persistence/account-scope.js';
import { appendToOutbox, exportSubject, GLOBAL_SUBJECT_SCOPE } from '../persistence/export-outbox.js';
import type { GlobalTradingState, RecordedTradingStateChange, TradingStateChange } from './trading-state.js';

/** The global state row's transaction, holding its row lock. */
export interface GlobalScope extends TransactionScope {
  readonly global: GlobalTradingState;
}

/** A trading state set on an account: the state, why, by whom and when. */
export interface AccountTradingStateFields {
  readonly tradingState: TradingState;
  readonly tradingStateReason: string;
  readonly tradingStateChangedBy: string;
  readonly tradingStateChangedAt: Date;
}

interface GlobalRow {
  state: TradingState;
  reason: string | null;
  changed_by: string | null;
  changed_at: Date;
}

interface ChangeRow {
  id: string;
  scope: 'global' | 'account';
  account_id: string | null;
  previous_state: TradingState;
  state: TradingState;
  source: string;
  reason: string;
  changed_by: string;
  changed_at: Date;
}

const toGlobal = (r: GlobalRow): GlobalTradingState => ({
  state: r.state,
  reason: r.reason,
  changedBy: r.changed_by,
  changedAt: r.changed_at,
});

const toChange = (r: ChangeRow): RecordedTradingStateChange => ({
  id: r.id,
  scope: r.scope,
  accountId: r.account_id,
  previousState: r.previous_state,
  state: r.state,
  source: r.source,
  reason: r.reason,
  changedBy: r.changed_by,
  changedAt: r.changed_at,
});

const GLOBAL = `SELECT state, reason, changed_by, changed_at FROM global_trading_state WHERE singleton`;

/**
 * Trading states (SQL): the global row (`global_trading_state`), each account's own state (its columns
 * of `accounts`) and the append-only history of changes (`trading_state_changes`). Accounts keep them,
 * risk's trading control decides them; every order reads them under its account lock.
 */
@Injectable()
export class TradingStateRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The global state, in the caller's transaction (an order's, under its account lock) or committed. */
  async global(scope?: TransactionScope): Promise<GlobalTradingState> {
    const [row] = await (scope?.manager ?? this.dataSource.manager).query<GlobalRow[]>(GLOBAL);
    if (!row) {
      throw new Error('global_trading_state has no row: the migrations were not run');
    }
    return toGlobal(row);
  }

  /** Runs `work` in one transaction holding the global state's row lock. */
  inGlobalScope<T>(work: (scope: GlobalScope) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<GlobalRow[]>(`${GLOBAL} FOR UPDATE`);
      if (!row) {
        throw new Error('global_trading_state has no row: the migrations were not run');
      }
      return work({ manager, global: toGlobal(row) });
    });
  }

  async setGlobal(scope: GlobalScope, next: GlobalTradingState): Promise<void> {
    await scope.manager.query(
      `UPDATE global_trading_state SET state = $1, reason = $2, changed_by = $3, changed_at = $4 WHERE singleton`,
      [next.state, next.reason, next.changedBy, next.changedAt],
    );
  }

  /** Sets the account's own trading state, in the database and in the scope's account row. */
  async setAccount(scope: AccountScope, fields: AccountTradingStateFields): Promise<void> {
    await scope.manager.query(
      `UPDATE accounts SET trading_state = $2, trading_state_reason = $3, trading_state_changed_by = $4,
              trading_state_changed_at = $5 WHERE id = $1`,
      [
        scope.account.id,
        fields.tradingState,
        fields.tradingStateReason,
        fields.tradingStateChangedBy,
        fields.tradingStateChangedAt,
      ],
    );
    Object.assign(scope.account, fields);
  }

  /**
   * Appends a change to the history and, in the same transaction, its message to the export outbox
   * (`trading_state` on `gateway.<environment>.<accountId>.trading_state`, the global state's on
   * `gateway.all.global.trading_state`; `Nats-Msg-Id` `trading_state:<id>`). Returns the recorded change.
   */
  async record(
    scope: TransactionScope | AccountScope,
    change: TradingStateChange,
  ): Promise<RecordedTradingStateChange> {
    const [row] = await scope.manager.query<{ id: string; environment: string | null }[]>(
      `WITH c AS (
         INSERT INTO trading_state_changes (scope, account_id, previous_state, state, source, reason, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, account_id)
       SELECT c.id, a.environment FROM c LEFT JOIN accounts a ON a.id = c.account_id`,
      [
        change.scope,
        change.accountId,
        change.previousState,
        change.state,
        change.source,
        change.reason,
        change.changedBy,
        change.changedAt,
      ],
    );
    const recorded: RecordedTradingStateChange = { ...change, id: String(row!.id) };
    const where =
      change.accountId === null
        ? GLOBAL_SUBJECT_SCOPE
        : { environment: row!.environment ?? 'unknown', accountId: change.accountId };
    await appendToOutbox(scope.manager, [
      {
        subject: exportSubject(where.environment, where.accountId, 'trading_state'),
        msgId: `trading_state:${recorded.id}`,
        payload: {
          type: 'trading_state',
          id: recorded.id,
          scope: change.scope,
          accountId: change.accountId,
          environment: change.accountId === null ? null : where.environment,
          previousState: change.previousState,
          state: change.state,
          source: change.source,
          reason: change.reason,
          changedBy: change.changedBy,
          changedAt: change.changedAt.toISOString(),
        },
      },
    ]);
    return recorded;
  }

  /** The state the scope (an account's, or the global one when `accountId` is null) had before its latest halt. */
  async stateBeforeHalt(scope: TransactionScope, accountId: string | null): Promise<TradingState | null> {
    const [row] = await scope.manager.query<{ previous_state: TradingState }[]>(
      `SELECT previous_state FROM trading_state_changes
        WHERE scope = $1 AND account_id IS NOT DISTINCT FROM $2 AND state = 'halted' AND previous_state <> 'halted'
        ORDER BY id DESC LIMIT 1`,
      [accountId === null ? 'global' : 'account', accountId],
    );
    return row?.previous_state ?? null;
  }

  /**
   * The source of the latest change of the global state and of each given account's own state
   * (`kill_switch`, `lockdown`, `trading_state`...): what set the state each is in now. An account (or the
   * global state) never changed is absent (global: null).
   */
  async latestSources(
    accountIds: readonly string[],
  ): Promise<{ global: string | null; accounts: Map<string, string> }> {
    const [globalRows, accountRows] = await Promise.all([
      this.dataSource.query<{ source: string }[]>(
        `SELECT source FROM trading_state_changes WHERE scope = 'global' ORDER BY id DESC LIMIT 1`,
      ),
      accountIds.length === 0
        ? Promise.resolve([])
        : this.dataSource.query<{ id: string; source: string }[]>(
            `SELECT a.id, c.source FROM unnest($1::uuid[]) AS a(id)
               CROSS JOIN LATERAL (SELECT source FROM trading_state_changes
                                    WHERE scope = 'account' AND account_id = a.id ORDER BY id DESC LIMIT 1) c`,
            [accountIds],
          ),
    ]);
    return { global: globalRows[0]?.source ?? null, accounts: new Map(accountRows.map((r) => [r.id, r.source])) };
  }

  /** The latest changes, newest first: the global ones (`accountId` null), or one account's. */
  async history(accountId: string | null, limit: number): Promise<RecordedTradingStateChange[]> {
    const rows =
      accountId === null
        ? await this.dataSource.query<ChangeRow[]>(
            `SELECT * FROM trading_state_changes WHERE scope = 'global' ORDER BY id DESC LIMIT $1`,
            [limit],
          )
        : await this.dataSource.query<ChangeRow[]>(
            `SELECT * FROM trading_state_changes WHERE scope = 'account' AND account_id = $1 ORDER BY id DESC LIMIT $2`,
            [accountId, limit],
          );
    return rows.map(toChange);
  }
}
