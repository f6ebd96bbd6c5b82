import { createHash } from 'node:crypto';

/**
 * The audit log's hash chains, as pure functions (no I/O): the writer and the verification command
 * (`npm run audit:verify`) both hash with `chainHash`, so what one writes the other can check.
 *
 * The log is split into AUDIT_PARTITIONS chains, one per partition, so that writers of different
 * partitions never wait on each other (each locks only its partition's head). A row's partition is
 * `partitionOf` its account id (lowercased), else of its subject, else of the empty string: every entry
 * of one account is in one chain. `seq` is the log's order across partitions: increasing from 1 (taken
 * from a sequence while the partition is locked; a failed write leaves a gap). Within a partition,
 * `partitionSeq` is gapless from 1, `prevSeq` is the seq of the partition's previous row (0 for its first)
 * and `prev_hash` that row's `hash` (GENESIS_HASH for the first); `hash = sha256_hex(prev_hash ||
 * canonicalJson(fields))`, the fields including partition, partitionSeq and prevSeq.
 *
 * Rows written before the partitions (partition null: the legacy chain) are one chain as they always
 * were: seq gapless from 1, each row's prev_hash the hash of seq − 1, hashed without the partition
 * fields. They come before every partitioned row.
 *
 * Editing a row breaks its own hash; deleting one leaves a partitionSeq gap (or, if renumbered, a
 * prevSeq/prev_hash mismatch) at the partition's next row, which names the deleted seq. What a chain
 * cannot show by itself: rows removed from a partition's end, or a tail rewritten by someone who
 * recomputed every later hash. Both are caught against the head digest (`headDigest`: every chain's
 * head at a seq) anchored outside the database (`anchor`), and, short of that, against the partition
 * heads the database keeps (`expectHeads`).
 */

/** `prev_hash` of a chain's first row: 64 zero hex digits. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * How many partitions (chains) the log has: a fixed number, so that the heads are a small table made
 * by the migration and a verification can lock them all for an instant. Changing it needs a migration.
 */
export const AUDIT_PARTITIONS = 32;

/** The partition (0 to AUDIT_PARTITIONS − 1) of a partition key: the first 32 bits of its sha256, modulo. */
export function partitionOf(key: string): number {
  return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0) % AUDIT_PARTITIONS;
}

/** The partition key of an entry: its account id (lowercased), else its subject, else the empty string. */
export function partitionKey(entry: { readonly accountId: string | null; readonly subject: string | null }): string {
  return entry.accountId !== null ? `account:${entry.accountId.toLowerCase()}` : `subject:${entry.subject ?? ''}`;
}

/** `change`: a state-changing request under /v1, any outcome. `security`: 401/403/429 or a stream auth failure. */
export const AUDIT_KINDS = ['change', 'security'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/**
 * The hashed fields of one audit row, exactly as stored. Strings are the column values; `seq` is the
 * bigint as a decimal string; `occurredAt` is ISO-8601 UTC with microseconds (`...T12:00:00.123000Z`,
 * PostgreSQL's `timestamptz` precision, so a read-back compares character for character).
 */
export interface AuditFields {
  readonly seq: string;
  readonly occurredAt: string;
  readonly kind: string;
  readonly requestId: string | null;
  /** The token's `sub`, or null when there was no valid token. */
  readonly subject: string | null;
  /** The token's `azp` or `client_id` claim, when it has one. */
  readonly clientId: string | null;
  readonly method: string;
  /** The route pattern (`/v1/accounts/:accountId/orders`), or the bare path when no route matched. */
  readonly route: string;
  /** `<controller>.<handler>` (`orders.place`), or null when no handler was reached. */
  readonly action: string | null;
  readonly accountId: string | null;
  readonly environment: string | null;
  /** Path parameters and the allow-listed body fields naming the target (strings only, as stored in jsonb). */
  readonly target: unknown;
  /** HTTP status; null when the client went away before an answer was sent. */
  readonly status: number | null;
  /** The problem+json `code` of an error answer. */
  readonly code: string | null;
  /** The row's partition; null (or absent) for a row of the legacy chain. */
  readonly partition?: number | null;
  /** The row's place in its partition, gapless from 1 (decimal string); null for a legacy row. */
  readonly partitionSeq?: string | null;
  /** The seq of the partition's previous row, '0' for its first (decimal string); null for a legacy row. */
  readonly prevSeq?: string | null;
}

export interface AuditRow extends AuditFields {
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * JSON with object keys sorted (recursively) and no whitespace: one text per value, whatever the key
 * order it was built or read back (jsonb reorders keys) in. Throws TypeError on values JSON cannot hold.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** Whether a row is of a partition (else of the legacy chain, hashed without the partition fields). */
export function isPartitioned(f: AuditFields): boolean {
  return f.partition !== null && f.partition !== undefined;
}

/** The hashed part of a row, picked field by field so that nothing else (prevHash, hash) slips in. */
function hashedFields(f: AuditFields): Record<string, unknown> {
  const partition = isPartitioned(f)
    ? { partition: f.partition, partitionSeq: f.partitionSeq ?? null, prevSeq: f.prevSeq ?? null }
    : {};
  return {
    ...partition,
    seq: f.seq,
    occurredAt: f.occurredAt,
    kind: f.kind,
    requestId: f.requestId,
    subject: f.subject,
    clientId: f.clientId,
    method: f.method,
    route: f.route,
    action: f.action,
    accountId: f.accountId,
    environment: f.environment,
    target: f.target,
    status: f.status,
    code: f.code,
  };
}

/** `sha256_hex(prevHash || canonicalJson(fields))`: the `hash` of a row whose predecessor's hash is `prevHash`. */
export function chainHash(prevHash: string, fields: AuditFields): string {
  return createHash('sha256')
    .update(prevHash + canonicalJson(hashedFields(fields)), 'utf8')
    .digest('hex');
}

/** A timestamp in the chain's text form: ISO-8601 UTC with microseconds (from a millisecond clock). */
export function chainTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** Why a chain does not verify, at the first row where it stops doing so. */
export type ChainBreakKind =
  /** The row's contents do not hash to its stored `hash`: the row was edited. */
  | 'hash_mismatch'
  /** seq (legacy chain) or partitionSeq jumps: the rows in between were deleted. */
  | 'seq_gap'
  /** seq or partitionSeq is not after the previous one (duplicated or out of order). */
  | 'seq_order'
  /** The row's `prev_hash` (or prevSeq) is not its predecessor's: a row before it was deleted or replaced. */
  | 'prev_hash_mismatch'
  /** The chains at the anchored seq do not carry the anchored hash (or a partition does not end at its kept head). */
  | 'anchor_mismatch'
  /** The log ends before the anchored seq, or a partition before its kept head: rows were removed from its end. */
  | 'truncated';

export interface ChainBreak {
  readonly kind: ChainBreakKind;
  /** The seq the break shows at (for `truncated`, the anchored seq or the partition's kept head). */
  readonly seq: string;
  /** One line for an operator. */
  readonly reason: string;
}

/**
 * An externally kept (seq, hash): the head digest (`headDigest`) of the log as it stood at that seq,
 * which every chain must still reproduce there. While the log holds only legacy rows up to that seq,
 * the digest is the hash of the row at that seq (so an anchor kept before the partitions still checks).
 */
export interface ChainAnchor {
  readonly seq: string;
  readonly hash: string;
}

/** The last row of one partition (seq '0', partitionSeq '0' and GENESIS_HASH: none yet). */
export interface PartitionHead {
  readonly partition: number;
  readonly seq: string;
  readonly partitionSeq: string;
  readonly hash: string;
}

export type ChainResult =
  | { readonly ok: true; readonly count: number; readonly head: { seq: string; hash: string } | null }
  | { readonly ok: false; readonly count: number; readonly break: ChainBreak };

/**
 * The head digest of a log: with no partitioned row, the legacy head's hash; otherwise sha256 hex of the
 * canonical JSON of `{ legacy: {seq, hash} | null, partitions: [[partition, partitionSeq, seq, hash], …] }`
 * (partitions with a row, by partition). One hash that changes when any chain loses, gains or changes a row.
 */
export function headDigest(legacy: { seq: string; hash: string } | null, partitions: Iterable<PartitionHead>): string {
  const heads = [...partitions]
    .filter((h) => h.partitionSeq !== '0')
    .sort((a, b) => a.partition - b.partition)
    .map((h) => [h.partition, h.partitionSeq, h.seq, h.hash]);
  if (heads.length === 0) {
    return legacy?.hash ?? GENESIS_HASH;
  }
  return createHash('sha256')
    .update(canonicalJson({ legacy, partitions: heads }), 'utf8')
    .digest('hex');
}

/** The head of a partition with no row yet. */
export function emptyHead(partition: number): PartitionHead {
  return { partition, seq: '0', partitionSeq: '0', hash: GENESIS_HASH };
}

/**
 * Chains entries onto their partitions' heads (the writer's step, pure): each entry, in order, gets the
 * next of `seqs` (ascending), its partition's next partitionSeq, the partition head's seq as prevSeq and
 * its hash as prev_hash. Returns the rows and the partitions' new heads. `heads` must hold every
 * partition named; `seqs` at least as many values as there are entries.
 */
export function chainEntries(
  heads: ReadonlyMap<number, PartitionHead>,
  seqs: readonly string[],
  entries: readonly (Omit<AuditFields, 'seq' | 'partition' | 'partitionSeq' | 'prevSeq'> & { partition: number })[],
): { rows: AuditRow[]; heads: Map<number, PartitionHead> } {
  const next = new Map(heads);
  const rows = entries.map((entry, i) => {
    const head = next.get(entry.partition);
    const seq = seqs[i];
    if (!head || seq === undefined) {
      throw new Error(`chainEntries: no head for partition ${entry.partition} or no seq for entry ${i}`);
    }
    const fields: AuditFields = {
      ...entry,
      seq,
      partitionSeq: (BigInt(head.partitionSeq) + 1n).toString(),
      prevSeq: head.seq,
    };
    const hash = chainHash(head.hash, fields);
    next.set(entry.partition, { partition: entry.partition, seq, partitionSeq: fields.partitionSeq!, hash });
    return { ...fields, prevHash: head.hash, hash };
  });
  return { rows, heads: next };
}

/**
 * Checks rows one at a time, in seq order from the first, so a long log can be read in pages: the legacy
 * chain (seq gapless from 1), then every partition's chain. After the first break it ignores further
 * rows; `result()` reports that break (or the head digest of an intact log).
 */
export class ChainVerifier {
  private legacyExpectedSeq = 1n;
  private legacy: { seq: string; hash: string } | null = null;
  private readonly partitions = new Map<number, PartitionHead>();
  private lastSeq = 0n;
  private count = 0;
  private broken: ChainBreak | null = null;
  private anchorChecked = false;
  private kept: readonly PartitionHead[] | null = null;

  constructor(private readonly anchor?: ChainAnchor) {}

  /**
   * The partition heads the database keeps (read when no write was under way): the log must end at
   * each of them. Without it, a partition's removed tail shows only against an anchor.
   */
  expectHeads(heads: readonly PartitionHead[]): void {
    this.kept = heads;
  }

  /** Checks the next row; false once the chain is broken (stop reading). */
  push(row: AuditRow): boolean {
    if (this.broken) {
      return false;
    }
    const seq = parseSeq(row.seq);
    if (seq !== null && seq > this.lastSeq) {
      this.broken = this.crossAnchor(seq);
    }
    this.broken ??= this.check(row, seq);
    if (this.broken) {
      return false;
    }
    this.count += 1;
    this.lastSeq = seq!;
    if (isPartitioned(row)) {
      const partition = row.partition!;
      this.partitions.set(partition, { partition, seq: row.seq, partitionSeq: row.partitionSeq!, hash: row.hash });
    } else {
      this.legacyExpectedSeq += 1n;
      this.legacy = { seq: row.seq, hash: row.hash };
    }
    if (this.anchor && !this.anchorChecked && this.anchor.seq === row.seq) {
      this.anchorChecked = true;
      if (this.digest() !== this.anchor.hash) {
        this.broken = this.anchorMismatch();
        this.count -= 1;
        return false;
      }
    }
    return true;
  }

  result(): ChainResult {
    if (!this.broken && this.anchor && !this.anchorChecked) {
      this.broken = {
        kind: 'truncated',
        seq: this.anchor.seq,
        reason:
          `the chain ends at seq ${this.lastSeq}, before the anchored seq ${this.anchor.seq}: ` +
          'rows were removed from its end',
      };
    }
    if (!this.broken && this.kept) {
      this.broken = this.checkKept(this.kept);
    }
    if (this.broken) {
      return { ok: false, count: this.count, break: this.broken };
    }
    const head = this.count === 0 ? null : { seq: this.lastSeq.toString(), hash: this.digest() };
    return { ok: true, count: this.count, head };
  }

  private digest(): string {
    return headDigest(this.legacy, this.partitions.values());
  }

  private anchorMismatch(): ChainBreak {
    const seq = this.anchor!.seq;
    return {
      kind: 'anchor_mismatch',
      seq,
      reason: `seq ${seq} does not carry the anchored hash: the chain was rewritten up to or after it`,
    };
  }

  /** A row after the anchored seq when no row carried it: the row at the anchored seq is gone. */
  private crossAnchor(seq: bigint): ChainBreak | null {
    if (!this.anchor || this.anchorChecked || seq <= BigInt(this.anchor.seq)) {
      return null;
    }
    this.anchorChecked = true;
    return this.anchorMismatch();
  }

  private check(row: AuditRow, seq: bigint | null): ChainBreak | null {
    if (seq === null || seq <= this.lastSeq) {
      return { kind: 'seq_order', seq: row.seq, reason: `seq ${row.seq} follows seq ${this.lastSeq}` };
    }
    const link = isPartitioned(row) ? this.checkPartitionLink(row) : this.checkLegacyLink(row, seq);
    if (link) {
      return link;
    }
    let expected: string;
    try {
      expected = chainHash(row.prevHash, row);
    } catch {
      expected = '';
    }
    if (expected !== row.hash) {
      return {
        kind: 'hash_mismatch',
        seq: row.seq,
        reason: `seq ${row.seq} was edited: its contents do not hash to its stored hash`,
      };
    }
    return null;
  }

  private checkLegacyLink(row: AuditRow, seq: bigint): ChainBreak | null {
    if (this.partitions.size > 0) {
      return {
        kind: 'seq_order',
        seq: row.seq,
        reason: `seq ${row.seq} is a legacy-chain row after partitioned rows (inserted or rewritten)`,
      };
    }
    const expectedSeq = this.legacyExpectedSeq;
    if (seq > expectedSeq) {
      const missing = seq - expectedSeq === 1n ? `seq ${expectedSeq}` : `seq ${expectedSeq}..${seq - 1n}`;
      return {
        kind: 'seq_gap',
        seq: expectedSeq.toString(),
        reason: `${missing} missing (deleted): the chain jumps from seq ${expectedSeq - 1n} to seq ${seq}`,
      };
    }
    if (row.prevHash !== (this.legacy?.hash ?? GENESIS_HASH)) {
      return {
        kind: 'prev_hash_mismatch',
        seq: row.seq,
        reason:
          seq === 1n
            ? 'seq 1 does not start from the genesis hash: earlier rows were removed'
            : `seq ${row.seq}: prev_hash is not the hash of seq ${seq - 1n} (a row was deleted or replaced)`,
      };
    }
    return null;
  }

  private checkPartitionLink(row: AuditRow): ChainBreak | null {
    const partition = row.partition!;
    const head = this.partitions.get(partition) ?? emptyHead(partition);
    const expected = BigInt(head.partitionSeq) + 1n;
    const partitionSeq = parseSeq(row.partitionSeq ?? '');
    if (partitionSeq === null || partitionSeq < expected || !Number.isInteger(partition)) {
      return {
        kind: 'seq_order',
        seq: row.seq,
        reason: `seq ${row.seq}: partition ${partition} row ${row.partitionSeq} follows row ${expected - 1n}`,
      };
    }
    if (partitionSeq > expected) {
      const count = partitionSeq - expected;
      const prevSeq = parseSeq(row.prevSeq ?? '');
      const last = prevSeq !== null && prevSeq > BigInt(head.seq) ? prevSeq.toString() : null;
      const missing =
        count === 1n && last
          ? `seq ${last}`
          : `${count} rows of partition ${partition}${last ? ` up to seq ${last}` : ''}`;
      return {
        kind: 'seq_gap',
        seq: last ?? row.seq,
        reason: `${missing} missing (deleted): partition ${partition} jumps from seq ${head.seq} to seq ${row.seq}`,
      };
    }
    if (row.prevSeq !== head.seq || row.prevHash !== head.hash) {
      return {
        kind: 'prev_hash_mismatch',
        seq: row.seq,
        reason:
          head.seq === '0'
            ? `seq ${row.seq} does not start partition ${partition} from the genesis hash: earlier rows were removed`
            : `seq ${row.seq}: its predecessor in partition ${partition} is not seq ${head.seq} (a row was deleted or replaced)`,
      };
    }
    return null;
  }

  private checkKept(kept: readonly PartitionHead[]): ChainBreak | null {
    for (const want of kept) {
      const have = this.partitions.get(want.partition) ?? emptyHead(want.partition);
      if (BigInt(have.partitionSeq) < BigInt(want.partitionSeq)) {
        return {
          kind: 'truncated',
          seq: want.seq,
          reason:
            `partition ${want.partition} ends at seq ${have.seq}, before its kept head seq ${want.seq}: ` +
            'rows were removed from its end',
        };
      }
      if (have.partitionSeq !== want.partitionSeq || have.hash !== want.hash) {
        return {
          kind: 'anchor_mismatch',
          seq: have.seq,
          reason: `partition ${want.partition} does not end at its kept head seq ${want.seq}: its tail was rewritten or extended`,
        };
      }
    }
    const known = new Set(kept.map((h) => h.partition));
    const stray = [...this.partitions.values()].find((h) => !known.has(h.partition));
    return stray
      ? {
          kind: 'anchor_mismatch',
          seq: stray.seq,
          reason: `seq ${stray.seq} is in partition ${stray.partition}, which has no kept head (an inserted row)`,
        }
      : null;
  }
}

function parseSeq(text: string): bigint | null {
  return /^[1-9][0-9]*$/.test(text) ? BigInt(text) : null;
}

/**
 * Verifies a whole log given in seq order (an empty log is intact: with no anchor, deleting every row
 * cannot be told from a new log). Reports the first break.
 */
export function verifyChain(
  rows: Iterable<AuditRow>,
  anchor?: ChainAnchor,
  heads?: readonly PartitionHead[],
): ChainResult {
  const verifier = new ChainVerifier(anchor);
  if (heads) {
    verifier.expectHeads(heads);
  }
  for (const row of rows) {
    if (!verifier.push(row)) {
      break;
    }
  }
  return verifier.result();
}
