import { randomUUID } from 'node:crypto';
import { Decimal, toDecimalString } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { appendToOutbox, exportSubject, type OutboxMessage } from '../../persistence/export-outbox.js';
import type { ReconciliationBreakDto } from '../reconciliation.schema.js';

export type BreakKind = 'position' | 'order' | 'execution';
export type BreakStatus = 'open' | 'resolved' | 'acknowledged';

/** One reconciliation break (`reconciliation_breaks`). Quantities signed; times epoch ms. */
export interface ReconciliationBreak {
  readonly id: string;
  readonly accountId: string;
  readonly kind: BreakKind;
  readonly symbol: string;
  readonly venue: string;
  readonly environment: 'paper' | 'live';
  readonly ours: Decimal;
  readonly broker: Decimal;
  readonly status: BreakStatus;
  /** The broker executions we never applied that bear on it (as the pass found them; may be empty). */
  readonly executions: unknown[];
  readonly foundRunId: string;
  readonly foundAt: number;
  readonly resolvedAt: number | null;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedReason: string | null;
}

/** What a pass found in one symbol: the two positions, and the evidence kept with the break. */
export interface PositionFinding {
  readonly symbol: string;
  readonly ours: Decimal;
  readonly broker: Decimal;
  readonly executions: readonly unknown[];
  readonly brokerPayload: unknown;
}

/** The outcome of recording a pass's findings: breaks opened, breaks closed, and every break it saw. */
export interface RecordedBreaks {
  readonly opened: ReconciliationBreak[];
  readonly resolved: ReconciliationBreak[];
  readonly seen: ReconciliationBreak[];
}

interface BreakRow {
  id: string;
  account_id: string;
  kind: BreakKind;
  symbol: string;
  venue: string;
  environment: 'paper' | 'live';
  ours: string;
  broker: string;
  status: BreakStatus;
  executions: unknown[];
  found_run_id: string;
  found_at: Date;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  acknowledged_reason: string | null;
}

const COLUMNS = `id, account_id, kind, symbol, venue, environment, ours, broker, status, executions, found_run_id,
  found_at, resolved_at, acknowledged_at, acknowledged_by, acknowledged_reason`;

const toBreak = (r: BreakRow): ReconciliationBreak => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind,
  symbol: r.symbol,
  venue: r.venue,
  environment: r.environment,
  ours: new Decimal(r.ours),
  broker: new Decimal(r.broker),
  status: r.status,
  executions: r.executions,
  foundRunId: r.found_run_id,
  foundAt: r.found_at.getTime(),
  resolvedAt: r.resolved_at?.getTime() ?? null,
  acknowledgedAt: r.acknowledged_at?.getTime() ?? null,
  acknowledgedBy: r.acknowledged_by,
  acknowledgedReason: r.acknowledged_reason,
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The executions kept with a break, as the API shows them (the broker's raw record stays in the database). */
function executionsOf(b: ReconciliationBreak): ReconciliationBreakDto['executions'] {
  return b.executions.map((e) => {
    const x = e as Record<string, string>;
    return {
      brokerExecutionId: x['brokerExecutionId']!,
      brokerOrderId: x['brokerOrderId']!,
      clientOrderId: x['clientOrderId']!,
      side: x['side'] as 'buy' | 'sell',
      quantity: x['quantity']!,
      price: x['price']!,
      executedAt: x['executedAt']!,
    };
  });
}

/** A break as the API shows it (`ReconciliationBreak` of the OpenAPI document) and the export carries it. */
export function toBreakDto(b: ReconciliationBreak): ReconciliationBreakDto {
  return {
    id: b.id,
    kind: b.kind,
    symbol: b.symbol,
    ours: toDecimalString(b.ours),
    broker: toDecimalString(b.broker),
    status: b.status,
    foundAt: iso(b.foundAt),
    resolvedAt: b.resolvedAt === null ? null : iso(b.resolvedAt),
    acknowledgement:
      b.acknowledgedAt === null
        ? null
        : { by: b.acknowledgedBy ?? '', reason: b.acknowledgedReason ?? '', at: iso(b.acknowledgedAt) },
    executions: executionsOf(b),
  };
}

/**
 * The export message of a break as it now stands (README, "Exporting events"): one per status a break
 * reaches (`open`, `acknowledged`, `resolved`), on `gateway.<environment>.<accountId>.reconciliation`,
 * `Nats-Msg-Id` `reconciliation_break:<id>:<status>`.
 */
function breakMessage(b: ReconciliationBreak): OutboxMessage {
  return {
    subject: exportSubject(b.environment, b.accountId, 'reconciliation'),
    msgId: `reconciliation_break:${b.id}:${b.status}`,
    payload: {
      type: 'reconciliation_break',
      accountId: b.accountId,
      environment: b.environment,
      venue: b.venue,
      break: toBreakDto(b),
    },
  };
}

/** The rows of an UPDATE … RETURNING: TypeORM's PostgreSQL driver answers `[rows, affected]` for it. */
function updated(result: unknown): BreakRow[] {
  const r = result as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as BreakRow[];
}

/** Why an acknowledgement was not recorded. */
export type AcknowledgeOutcome =
  | { readonly kind: 'acknowledged'; readonly break: ReconciliationBreak }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'not_open'; readonly break: ReconciliationBreak };

/**
 * Reconciliation breaks (`reconciliation_breaks`) and which passes saw them (`reconciliation_run_breaks`).
 * Writes of one account's breaks happen inside its reconciliation lock (ReconciliationJobs), so the pass's
 * read-then-write needs no more than its transaction. One query style: SQL.
 */
@Injectable()
export class ReconciliationBreakRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Records what a position pass of `accountId` (run `runId`) found, in one transaction: a finding equal
   * to the symbol's current break (open or acknowledged, same `ours` and `broker`) keeps that break as it
   * is; a finding that differs resolves it and opens a new one; a symbol without a finding resolves its
   * current break, unless it is `undecided` (a difference the pass could not judge: its current break,
   * if any, stays as it is, unlinked). Every break of a finding is linked to the run.
   */
  async recordPositionPass(
    run: { accountId: string; runId: string; venue: string; environment: 'paper' | 'live'; at: number },
    findings: readonly PositionFinding[],
    undecided: ReadonlySet<string> = new Set(),
  ): Promise<RecordedBreaks> {
    return this.dataSource.transaction(async (m) => {
      const rows: BreakRow[] = await m.query(
        `SELECT ${COLUMNS} FROM reconciliation_breaks
          WHERE account_id = $1 AND kind = 'position' AND status IN ('open', 'acknowledged') FOR UPDATE`,
        [run.accountId],
      );
      const current = new Map(rows.map((r) => [r.symbol, toBreak(r)]));
      const opened: ReconciliationBreak[] = [];
      const resolved: ReconciliationBreak[] = [];
      const seen: ReconciliationBreak[] = [];
      for (const finding of findings) {
        const existing = current.get(finding.symbol);
        current.delete(finding.symbol);
        if (existing && existing.ours.equals(finding.ours) && existing.broker.equals(finding.broker)) {
          seen.push(existing);
          continue;
        }
        if (existing) {
          resolved.push(await this.resolve(m, existing.id, run.runId, run.at));
        }
        const created = await this.insert(m, run, finding);
        opened.push(created);
        seen.push(created);
      }
      for (const gone of current.values()) {
        if (!undecided.has(gone.symbol)) {
          resolved.push(await this.resolve(m, gone.id, run.runId, run.at));
        }
      }
      for (const b of seen) {
        await m.query(`INSERT INTO reconciliation_run_breaks (run_id, break_id) VALUES ($1, $2)`, [run.runId, b.id]);
      }
      await appendToOutbox(m, [...resolved, ...opened].map(breakMessage));
      return { opened, resolved, seen };
    });
  }

  private async insert(
    m: EntityManager,
    run: { accountId: string; runId: string; venue: string; environment: 'paper' | 'live'; at: number },
    f: PositionFinding,
  ): Promise<ReconciliationBreak> {
    const rows: BreakRow[] = await m.query(
      `INSERT INTO reconciliation_breaks
         (id, account_id, kind, symbol, venue, environment, ours, broker, status, executions, broker_payload,
          found_run_id, found_at)
       VALUES ($1, $2, 'position', $3, $4, $5, $6, $7, 'open', $8::jsonb, $9::jsonb, $10, $11)
       RETURNING ${COLUMNS}`,
      [
        randomUUID(),
        run.accountId,
        f.symbol,
        run.venue,
        run.environment,
        toDecimalString(f.ours),
        toDecimalString(f.broker),
        JSON.stringify(f.executions),
        JSON.stringify(f.brokerPayload ?? null),
        run.runId,
        new Date(run.at),
      ],
    );
    return toBreak(rows[0]!);
  }

  private async resolve(m: EntityManager, id: string, runId: string, at: number): Promise<ReconciliationBreak> {
    const rows = updated(
      await m.query(
        `UPDATE reconciliation_breaks SET status = 'resolved', resolved_run_id = $2, resolved_at = $3
        WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, runId, new Date(at)],
      ),
    );
    return toBreak(rows[0]!);
  }

  /** The breaks each of `runIds` saw, by run id, oldest found first (runs without any are left out). */
  async seenBy(runIds: readonly string[]): Promise<Map<string, ReconciliationBreak[]>> {
    const byRun = new Map<string, ReconciliationBreak[]>();
    if (runIds.length === 0) {
      return byRun;
    }
    const rows: (BreakRow & { run_id: string })[] = await this.dataSource.query(
      `SELECT l.run_id, ${COLUMNS.replace(/(\w+)/g, 'b.$1')}
         FROM reconciliation_run_breaks l JOIN reconciliation_breaks b ON b.id = l.break_id
        WHERE l.run_id = ANY($1::uuid[]) ORDER BY b.found_at, b.symbol`,
      [[...runIds]],
    );
    for (const row of rows) {
      const list = byRun.get(row.run_id) ?? [];
      list.push(toBreak(row));
      byRun.set(row.run_id, list);
    }
    return byRun;
  }

  /**
   * Risk staff's acknowledgement of an open break of the account: `acknowledged`, with who, when and why;
   * `not_found` for a break not of this account; `not_open` for one already resolved or acknowledged.
   */
  async acknowledge(
    accountId: string,
    breakId: string,
    ack: { by: string; reason: string; at: number },
  ): Promise<AcknowledgeOutcome> {
    return this.dataSource.transaction(async (m) => {
      const rows = updated(
        await m.query(
          `UPDATE reconciliation_breaks
            SET status = 'acknowledged', acknowledged_at = $3, acknowledged_by = $4, acknowledged_reason = $5
          WHERE id = $1 AND account_id = $2 AND status = 'open'
        RETURNING ${COLUMNS}`,
          [breakId, accountId, new Date(ack.at), ack.by, ack.reason],
        ),
      );
      if (rows[0]) {
        const acknowledged = toBreak(rows[0]);
        await appendToOutbox(m, [breakMessage(acknowledged)]);
        return { kind: 'acknowledged', break: acknowledged };
      }
      const found: BreakRow[] = await m.query(
        `SELECT ${COLUMNS} FROM reconciliation_breaks WHERE id = $1 AND account_id = $2`,
        [breakId, accountId],
      );
      return found[0] ? { kind: 'not_open', break: toBreak(found[0]) } : { kind: 'not_found' };
    });
  }

  /** The account's open position breaks, oldest first (the cockpit's entry gates). */
  async openPositionBreaks(accountId: string): Promise<ReconciliationBreak[]> {
    const rows: BreakRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM reconciliation_breaks
        WHERE account_id = $1 AND kind = 'position' AND status = 'open' ORDER BY found_at, symbol`,
      [accountId],
    );
    return rows.map(toBreak);
  }

  /**
   * Of `symbols`, those in which one of `accountIds` has an order whose outcome is still uncertain
   * (`statuses`: pending new, cancel or replace, unknown) and that changed at or after `since` (epoch ms):
   * fills of such an order may be at the broker before the gateway can put them down to it (a Schwab
   * order before its id is known, say). An order uncertain for longer is stuck, not in flight.
   */
  async symbolsInFlight(
    accountIds: readonly string[],
    symbols: readonly string[],
    statuses: readonly string[],
    since: number,
  ): Promise<Set<string>> {
    if (accountIds.length === 0 || symbols.length === 0) {
      return new Set();
    }
    const rows: { symbol: string }[] = await this.dataSource.query(
      `SELECT DISTINCT symbol FROM orders
        WHERE account_id = ANY($1::uuid[]) AND symbol = ANY($2::text[]) AND status = ANY($3::text[])
          AND updated_at >= $4`,
      [[...accountIds], [...symbols], [...statuses], new Date(since)],
    );
    return new Set(rows.map((r) => r.symbol));
  }

  /** Of `ids`, the broker execution ids the gateway has recorded at `venue` (on any account). */
  async recordedExecutionIds(venue: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) {
      return new Set();
    }
    const rows: { broker_execution_id: string }[] = await this.dataSource.query(
      `SELECT broker_execution_id FROM executions WHERE venue = $1 AND broker_execution_id = ANY($2::text[])`,
      [venue, [...ids]],
    );
    return new Set(rows.map((r) => r.broker_execution_id));
  }

  /** Open breaks of every account, counted by venue and environment (the `gateway_position_breaks` gauge). */
  async openCounts(): Promise<{ venue: string; environment: string; count: number }[]> {
    const rows: { venue: string; environment: string; count: string }[] = await this.dataSource.query(
      `SELECT venue, environment, count(*) AS count FROM reconciliation_breaks
        WHERE kind = 'position' AND status = 'open' GROUP BY venue, environment`,
    );
    return rows.map((r) => ({ venue: r.venue, environment: r.environment, count: Number(r.count) }));
  }
}
