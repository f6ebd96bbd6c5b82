import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { isUuid } from '../common/ids.js';
import {
  type AuditFields,
  type AuditRow,
  type ChainAnchor,
  type ChainResult,
  ChainVerifier,
  chainHash,
  GENESIS_HASH,
} from './audit-chain.js';

/** An audit entry before it joins the chain: no seq or hashes yet; `environment` null until looked up. */
export type AuditDraft = Omit<AuditFields, 'seq'>;

/** One entry of `GET /v1/audit`. */
export interface AuditEntryDto {
  seq: number;
  /** When the response finished (ISO-8601 UTC, microseconds). */
  at: string;
  kind: string;
  requestId: string | null;
  subject: string | null;
  clientId: string | null;
  method: string;
  route: string;
  action: string | null;
  accountId: string | null;
  environment: string | null;
  target: unknown;
  status: number | null;
  code: string | null;
  prevHash: string;
  hash: string;
}

/** Anything that runs SQL and returns rows (a DataSource, an EntityManager). */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

// One chain for every gateway instance: its writers take this transaction-scoped lock, so reading the
// head and appending after it are one step, and seq stays gapless and the chain linear.
const CHAIN_LOCK = `SELECT pg_advisory_xact_lock(hashtext('gateway:audit_log'))`;

// Every column as the text that was hashed: seq as a decimal string, the time with microseconds in UTC.
// (Sort and filter by `audit_log.seq`: a bare `seq` in ORDER BY would be the text alias, 10 before 9.)
const SELECT_ROWS = `
  SELECT seq::text AS seq,
         to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
         kind, request_id, subject, client_id, method, route, action, account_id, environment, target,
         status, code, prev_hash, hash
    FROM audit_log`;

interface RawRow {
  seq: string;
  occurred_at: string;
  kind: string;
  request_id: string | null;
  subject: string | null;
  client_id: string | null;
  method: string;
  route: string;
  action: string | null;
  account_id: string | null;
  environment: string | null;
  target: unknown;
  status: number | null;
  code: string | null;
  prev_hash: string;
  hash: string;
}

function toRow(r: RawRow): AuditRow {
  return {
    seq: r.seq,
    occurredAt: r.occurred_at,
    kind: r.kind,
    requestId: r.request_id,
    subject: r.subject,
    clientId: r.client_id,
    method: r.method,
    route: r.route,
    action: r.action,
    accountId: r.account_id,
    environment: r.environment,
    target: r.target,
    status: r.status,
    code: r.code,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Rows with seq > `after`, in seq order, as stored (the form the chain hashes). */
export async function readAuditRows(db: Queryable, after: string | number, limit: number): Promise<AuditRow[]> {
  const rows = (await db.query(`${SELECT_ROWS} WHERE audit_log.seq > $1 ORDER BY audit_log.seq LIMIT $2`, [
    String(after),
    limit,
  ])) as RawRow[];
  return rows.map(toRow);
}

/**
 * Walks the whole chain from seq 1 in pages and recomputes every hash (`npm run audit:verify`, and the
 * tests). Reports the first break, or the head to anchor elsewhere.
 */
export async function verifyAuditLog(db: Queryable, anchor?: ChainAnchor, pageSize = 5_000): Promise<ChainResult> {
  const verifier = new ChainVerifier(anchor);
  let after = '0';
  for (;;) {
    const page = await readAuditRows(db, after, pageSize);
    for (const row of page) {
      if (!verifier.push(row)) {
        return verifier.result();
      }
    }
    const last = page[page.length - 1];
    if (!last || page.length < pageSize) {
      return verifier.result();
    }
    after = last.seq;
  }
}

/** The `audit_log` table: appends to the chain, and pages through it. */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends the drafts, in order, in one transaction under the chain lock: fills in the environment of
   * their accounts, then seq, prev_hash and hash after the current head. Returns the rows written.
   */
  append(drafts: readonly AuditDraft[]): Promise<AuditRow[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(CHAIN_LOCK);
      const environments = await this.environments(manager, drafts);
      const [head] = await manager.query<{ seq: string; hash: string }[]>(
        `SELECT seq::text AS seq, hash FROM audit_log ORDER BY audit_log.seq DESC LIMIT 1`,
      );
      let seq = head ? BigInt(head.seq) : 0n;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const rows: AuditRow[] = drafts.map((draft) => {
        seq += 1n;
        const fields: AuditFields = {
          ...draft,
          seq: seq.toString(),
          environment:
            draft.environment ?? (draft.accountId ? (environments.get(draft.accountId.toLowerCase()) ?? null) : null),
        };
        const hash = chainHash(prevHash, fields);
        const row = { ...fields, prevHash, hash };
        prevHash = hash;
        return row;
      });
      const params: unknown[] = [];
      const tuples = rows.map((r) => {
        const values = [
          r.seq,
          r.occurredAt,
          r.kind,
          r.requestId,
          r.subject,
          r.clientId,
          r.method,
          r.route,
          r.action,
          r.accountId,
          r.environment,
          JSON.stringify(r.target),
          r.status,
          r.code,
          r.prevHash,
          r.hash,
        ];
        const start = params.length;
        params.push(...values);
        return `(${values.map((_, i) => `$${start + i + 1}`).join(', ')})`;
      });
      await manager.query(
        `INSERT INTO audit_log (seq, occurred_at, kind, request_id, subject, client_id, method, route, action,
                                account_id, environment, target, status, code, prev_hash, hash)
         VALUES ${tuples.join(', ')}`,
        params,
      );
      return rows;
    });
  }

  /** Entries with seq > `after`, oldest first. */
  async page(after: number, limit: number): Promise<AuditEntryDto[]> {
    const rows = await readAuditRows(this.dataSource, after, limit);
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: r.occurredAt,
      kind: r.kind,
      requestId: r.requestId,
      subject: r.subject,
      clientId: r.clientId,
      method: r.method,
      route: r.route,
      action: r.action,
      accountId: r.accountId,
      environment: r.environment,
      target: r.target,
      status: r.status,
      code: r.code,
      prevHash: r.prevHash,
      hash: r.hash,
    }));
  }

  /** The environment (`paper`/`live`) of each account the drafts name, when the account exists. */
  private async environments(manager: EntityManager, drafts: readonly AuditDraft[]): Promise<Map<string, string>> {
    const ids = [
      ...new Set(drafts.map((d) => d.accountId?.toLowerCase()).filter((id): id is string => !!id && isUuid(id))),
    ];
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await manager.query<{ id: string; environment: string }[]>(
      `SELECT id::text AS id, environment FROM accounts WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.environment]));
  }
}
