import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { isUuid } from '../common/ids.js';
import type { TransactionScope } from '../persistence/account-scope.js';
import { type LockedRead, readIn } from '../persistence/locked-reads.js';
import { type DeferredWrite, writeIn } from '../persistence/write-batch.js';
import {
  type AuditFields,
  type AuditRow,
  type ChainAnchor,
  type ChainResult,
  ChainVerifier,
  chainEntries,
  type PartitionHead,
  partitionKey,
  partitionOf,
} from './audit-chain.js';

/**
 * An audit entry before it joins a chain: no seq, partition fields or hashes yet; `environment` null
 * until looked up.
 */
export type AuditDraft = Omit<AuditFields, 'seq' | 'partition' | 'partitionSeq' | 'prevSeq'>;

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

/** A Queryable that also opens transactions (a DataSource). */
interface Transactional extends Queryable {
  transaction<T>(run: (manager: EntityManager) => Promise<T>): Promise<T>;
}

// Every column as the text that was hashed: seq as a decimal string, the time with microseconds in UTC.
// (Sort and filter by `audit_log.seq`: a bare `seq` in ORDER BY would be the text alias, 10 before 9.)
const SELECT_ROWS = `
  SELECT seq::text AS seq,
         to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
         kind, request_id, subject, client_id, method, route, action, account_id, environment, target,
         status, code, partition, partition_seq::text AS partition_seq, prev_seq::text AS prev_seq, prev_hash, hash
    FROM audit_log`;

// Waits for every append under way (each holds its partitions' head rows FOR UPDATE from before it takes
// its seqs until it commits) and holds the next ones off until this transaction ends: while it is held,
// every seq below the log's greatest is committed or never will be, so a page read now is never followed
// by a row with a smaller seq.
const SETTLE = `
  SELECT partition, seq::text AS seq, partition_seq::text AS partition_seq, hash
    FROM audit_log_heads ORDER BY partition FOR SHARE`;

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
  partition: number | null;
  partition_seq: string | null;
  prev_seq: string | null;
  prev_hash: string;
  hash: string;
}

interface RawHead {
  partition: number;
  seq: string;
  partition_seq: string;
  hash: string;
}

function toHead(r: RawHead): PartitionHead {
  return { partition: r.partition, seq: r.seq, partitionSeq: r.partition_seq, hash: r.hash };
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
    partition: r.partition,
    partitionSeq: r.partition_seq,
    prevSeq: r.prev_seq,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Rows with `after` < seq <= `upTo` (no bound when absent), in seq order, as stored (the form the chain hashes). */
export async function readAuditRows(
  db: Queryable,
  after: string | number,
  limit: number,
  upTo?: string,
): Promise<AuditRow[]> {
  const rows = (await db.query(
    `${SELECT_ROWS} WHERE audit_log.seq > $1 AND ($3::bigint IS NULL OR audit_log.seq <= $3::bigint)
      ORDER BY audit_log.seq LIMIT $2`,
    [String(after), limit, upTo ?? null],
  )) as RawRow[];
  return rows.map(toRow);
}

/**
 * Walks the whole log from its first row in pages and recomputes every hash (`npm run audit:verify`,
 * and the tests). It first waits for the appends under way and reads the partition heads and the
 * greatest seq at that instant (holding writers off for that instant only), then checks the rows up to
 * that seq, and that every partition ends at its kept head. Reports the first break, or the head
 * digest to anchor elsewhere.
 */
export async function verifyAuditLog(db: Transactional, anchor?: ChainAnchor, pageSize = 5_000): Promise<ChainResult> {
  const { heads, upTo } = await db.transaction(async (manager) => {
    const kept = (await manager.query<RawHead[]>(SETTLE)).map(toHead);
    const [last] = await manager.query<{ seq: string }[]>(`SELECT COALESCE(max(seq), 0)::text AS seq FROM audit_log`);
    return { heads: kept, upTo: last?.seq ?? '0' };
  });
  const verifier = new ChainVerifier(anchor);
  verifier.expectHeads(heads);
  let after = '0';
  for (;;) {
    const page = await readAuditRows(db, after, pageSize, upTo);
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

// Locks the heads of the partitions named ($1, in ascending order, so two appends never deadlock), then
// (the LATERAL depends on the locked heads, so only then) takes one seq per entry ($2): the seqs of one
// partition follow its chain's order. Also reads the environment of the accounts named ($3).
const TAKE_HEADS = `
  WITH head AS MATERIALIZED (
    SELECT partition, seq::text AS seq, partition_seq::text AS partition_seq, hash
      FROM audit_log_heads WHERE partition = ANY($1::int[]) ORDER BY partition FOR UPDATE)
  SELECT h.heads, s.seqs,
         (SELECT json_object_agg(id::text, environment) FROM accounts WHERE id = ANY($3::uuid[])) AS environments
    FROM (SELECT json_agg(head ORDER BY partition) AS heads, count(*)::int AS n FROM head) h,
         LATERAL (SELECT array_agg(nextval('audit_log_seq')::text) AS seqs
                    FROM generate_series(1, $2::int + 0 * h.n)) s`;

const COLUMNS = `seq, occurred_at, kind, request_id, subject, client_id, method, route, action, account_id,
  environment, target, status, code, partition, partition_seq, prev_seq, prev_hash, hash`;

/**
 * What chaining `drafts` reads first (TAKE_HEADS: their partitions' heads locked, their seqs, their
 * accounts' environments), to send with an account's lock (LockedRead): it holds in the transaction
 * after the writes of the order it audits, which touch neither the heads nor an account's environment.
 * Sent and not used (the transaction failed before it chained), the seqs it took are a gap in `seq`, as
 * after any failed append.
 */
export function takeHeadsRead(drafts: readonly AuditDraft[]): LockedRead {
  const locked = [...new Set(drafts.map((d) => partitionOf(partitionKey(d))))].sort((a, b) => a - b);
  const accountIds = [
    ...new Set(drafts.map((d) => d.accountId?.toLowerCase()).filter((id): id is string => !!id && isUuid(id))),
  ];
  return { sql: TAKE_HEADS, params: [locked, drafts.length, accountIds], survivesWrites: true };
}

/**
 * Chains `drafts` in `scope`'s transaction: locks the heads of their partitions (ascending, so two
 * appends never deadlock), takes their seqs, fills in the environment of their accounts, and computes
 * seq, partitionSeq, prevSeq, prev_hash and hash after each partition's head. Returns the rows and the two
 * writes that store them (the rows' INSERT, the heads' UPDATE), for the caller to send before it commits.
 */
async function chainDrafts(
  scope: TransactionScope,
  drafts: readonly AuditDraft[],
): Promise<{ rows: AuditRow[]; writes: [DeferredWrite, DeferredWrite] }> {
  const partitions = drafts.map((d) => partitionOf(partitionKey(d)));
  const locked = [...new Set(partitions)].sort((a, b) => a - b);
  const [taken] = await readIn<{
    heads: RawHead[];
    seqs: string[];
    environments: Record<string, string> | null;
  }>(scope, takeHeadsRead(drafts));
  if (!taken || taken.heads.length !== locked.length) {
    throw new Error(`audit_log_heads lacks a head of partitions ${locked.join(', ')}`);
  }
  const environments = taken.environments ?? {};
  const seqs = [...taken.seqs].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  const { rows, heads } = chainEntries(
    new Map(taken.heads.map((h) => [h.partition, toHead(h)])),
    seqs,
    drafts.map((draft, i) => ({
      ...draft,
      environment:
        draft.environment ?? (draft.accountId ? (environments[draft.accountId.toLowerCase()] ?? null) : null),
      partition: partitions[i]!,
    })),
  );
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
      r.partition,
      r.partitionSeq,
      r.prevSeq,
      r.prevHash,
      r.hash,
    ];
    const start = params.length;
    params.push(...values);
    return `(${values.map((_, i) => `$${start + i + 1}`).join(', ')})`;
  });
  const moved = locked.map((p) => heads.get(p)!);
  return {
    rows,
    writes: [
      { sql: `INSERT INTO audit_log (${COLUMNS}) VALUES ${tuples.join(', ')}`, params },
      {
        sql: `UPDATE audit_log_heads h SET seq = v.seq, partition_seq = v.partition_seq, hash = v.hash
                FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::text[]) AS v(partition, seq, partition_seq, hash)
               WHERE h.partition = v.partition`,
        params: [
          moved.map((h) => h.partition),
          moved.map((h) => h.seq),
          moved.map((h) => h.partitionSeq),
          moved.map((h) => h.hash),
        ],
      },
    ],
  };
}

/**
 * Appends `drafts` inside the caller's transaction (the change they record): the heads of their
 * partitions are locked from here to the caller's commit, and the rows are written with the caller's
 * other writes (held in its WriteBatch when it has one). A rollback of the caller's transaction leaves
 * no row and no head moved.
 */
export async function appendAuditInTransaction(scope: TransactionScope, drafts: readonly AuditDraft[]): Promise<void> {
  if (drafts.length === 0) {
    return;
  }
  const { writes } = await chainDrafts(scope, drafts);
  for (const write of writes) {
    await writeIn(scope, write);
  }
}

/** The `audit_log` table: appends to the partitions' chains, and pages through the log. */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends the drafts, in order, in one transaction: locks the heads of their partitions (only those:
   * appends to other partitions go on meanwhile), fills in the environment of their accounts, then seq,
   * partitionSeq, prevSeq, prev_hash and hash after each partition's head, and moves the heads on.
   * Returns the rows written, in the drafts' order.
   */
  append(drafts: readonly AuditDraft[]): Promise<AuditRow[]> {
    if (drafts.length === 0) {
      return Promise.resolve([]);
    }
    return this.dataSource.transaction(async (manager) => {
      const { rows, writes } = await chainDrafts({ manager }, drafts);
      // One statement: the rows, and the heads moved on.
      await manager.query(
        `WITH appended AS (${writes[0].sql})
         ${writes[1].sql.replace(/\$(\d+)/g, (_, k: string) => `$${Number(k) + writes[0].params.length}`)}`,
        [...writes[0].params, ...writes[1].params],
      );
      return rows;
    });
  }

  /**
   * Entries with seq > `after`, oldest first. Read once the appends under way have committed, so that
   * paging on from the last seq never skips an entry that commits later with a smaller seq.
   */
  page(after: number, limit: number): Promise<AuditEntryDto[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(SETTLE);
      const rows = await readAuditRows(manager, after, limit);
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
    });
  }
}
