import { Injectable } from '@nestjs/common';
import type { TradingState } from '@gateway/risk';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Environment } from '../auth/principal.js';
import type { Account } from './account.js';
import type { BrokerConnectionSummary } from './account.mapper.js';

interface AccountRow {
  id: string;
  name: string;
  environment: Environment;
  broker: string;
  broker_account_id: string | null;
  live_enabled: boolean;
  trading_state: TradingState;
  trading_state_reason: string | null;
  trading_state_changed_by: string | null;
  trading_state_changed_at: Date | null;
  entries_blocked_reason: string | null;
  last_seq: string;
}

const COLUMNS = `id, name, environment, broker, broker_account_id, live_enabled, trading_state, trading_state_reason,
  trading_state_changed_by, trading_state_changed_at, entries_blocked_reason, last_seq`;

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    name: r.name,
    environment: r.environment,
    broker: r.broker,
    brokerAccountId: r.broker_account_id,
    liveEnabled: r.live_enabled,
    tradingState: r.trading_state,
    tradingStateReason: r.trading_state_reason,
    tradingStateChangedBy: r.trading_state_changed_by,
    tradingStateChangedAt: r.trading_state_changed_at,
    entriesBlockedReason: r.entries_blocked_reason,
    lastSeq: Number(r.last_seq),
  };
}

/** The `accounts` table, read and written outside an account's transaction (SQL). */
@Injectable()
export class AccountRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The broker connections (`broker_connections`, written by broker-connections/) of `ids`, by account. */
  async brokerConnections(ids: readonly string[]): Promise<Map<string, BrokerConnectionSummary>> {
    const rows = await this.dataSource.query<
      { account_id: string; status: BrokerConnectionSummary['status']; access: Date | null; refresh: Date | null }[]
    >(
      `SELECT account_id, status, access_expires_at AS access, refresh_expires_at AS refresh
         FROM broker_connections WHERE account_id = ANY($1::uuid[])`,
      [[...ids]],
    );
    return new Map(
      rows.map((r) => [
        r.account_id,
        {
          status: r.status,
          accessExpiresAt: r.access?.toISOString() ?? null,
          refreshExpiresAt: r.refresh?.toISOString() ?? null,
        },
      ]),
    );
  }

  async findById(id: string): Promise<Account | null> {
    const [row] = await this.dataSource.query<AccountRow[]>(`SELECT ${COLUMNS} FROM accounts WHERE id = $1`, [id]);
    return row ? toAccount(row) : null;
  }

  async findByName(name: string): Promise<Account | null> {
    const [row] = await this.dataSource.query<AccountRow[]>(`SELECT ${COLUMNS} FROM accounts WHERE name = $1`, [name]);
    return row ? toAccount(row) : null;
  }

  /** The accounts in one of `environments`, by name; only those of `ids` when given. */
  async list(environments: readonly Environment[], ids?: readonly string[]): Promise<Account[]> {
    const rows = await this.dataSource.query<AccountRow[]>(
      `SELECT ${COLUMNS} FROM accounts
        WHERE environment = ANY($1) AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[])) ORDER BY name`,
      [environments, ids ?? null],
    );
    return rows.map(toAccount);
  }

  /** The ids and environments of the accounts on `broker`. */
  async onBroker(broker: string): Promise<{ id: string; environment: Environment }[]> {
    return this.dataSource.query(`SELECT id, environment FROM accounts WHERE broker = $1 ORDER BY id`, [broker]);
  }

  async setLiveEnabled(id: string, liveEnabled: boolean): Promise<void> {
    await this.dataSource.query(`UPDATE accounts SET live_enabled = $2 WHERE id = $1`, [id, liveEnabled]);
  }

  /** Creates the named paper account on the paper venue if it is missing; returns it either way. */
  async ensurePaperAccount(name: string): Promise<Account> {
    await this.dataSource.query(
      `INSERT INTO accounts (id, name, environment, broker, live_enabled, trading_state, last_seq, created_at, updated_at)
       VALUES ($1, $2, 'paper', 'paper', false, 'active', 0, $3, $3) ON CONFLICT DO NOTHING`,
      [uuidv7(), name, new Date()],
    );
    const account = await this.findByName(name);
    if (!account) {
      throw new Error(`account ${name} is missing right after it was ensured`);
    }
    return account;
  }

  /**
   * Creates an account (active, live trading off); null when the name is taken (the name is unique, so a
   * concurrent create of the same name gets null too).
   */
  async create(account: {
    name: string;
    broker: string;
    environment: Environment;
    brokerAccountId: string | null;
  }): Promise<Account | null> {
    const now = new Date();
    const rows = await this.dataSource.query<AccountRow[]>(
      `INSERT INTO accounts (id, name, environment, broker, broker_account_id, live_enabled, trading_state, last_seq,
                             created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, false, 'active', 0, $6, $6) ON CONFLICT (name) DO NOTHING
       RETURNING ${COLUMNS}`,
      [uuidv7(), account.name, account.environment, account.broker, account.brokerAccountId, now],
    );
    return rows[0] ? toAccount(rows[0]) : null;
  }

  /** Up to `take` accounts outside `environments` (by name), and how many there are. */
  async outside(environments: readonly Environment[], take: number): Promise<{ accounts: Account[]; count: number }> {
    const rows = await this.dataSource.query<(AccountRow & { total: string })[]>(
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM accounts
        WHERE NOT (environment = ANY($1)) ORDER BY name LIMIT $2`,
      [environments, take],
    );
    return { accounts: rows.map(toAccount), count: Number(rows[0]?.total ?? 0) };
  }
}
