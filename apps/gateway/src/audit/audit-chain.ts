import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain, as pure functions (no I/O): the writer and the verification command
 * (`npm run audit:verify`) both hash with `chainHash`, so what one writes the other can check.
 *
 * Each row stores `prev_hash` (the previous row's `hash`; GENESIS_HASH for seq 1) and
 * `hash = sha256_hex(prev_hash || canonicalJson(fields))`, with `seq` gapless from 1. Editing a row
 * breaks its own hash; deleting one leaves a seq gap (or, if renumbered, a prev_hash mismatch). What a
 * chain cannot show by itself: rows removed from the end, or a tail rewritten by someone who recomputed
 * every later hash. Both are caught only against a head hash anchored outside the database (`anchor`).
 */

/** `prev_hash` of the first row: 64 zero hex digits. */
export const GENESIS_HASH = '0'.repeat(64);

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

/** The hashed part of a row, picked field by field so that nothing else (prevHash, hash) slips in. */
function hashedFields(f: AuditFields): Record<string, unknown> {
  return {
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
  /** seq jumps: the rows in between were deleted. */
  | 'seq_gap'
  /** seq is not after the previous one (duplicated or out of order). */
  | 'seq_order'
  /** The row's `prev_hash` is not the previous row's `hash`: a row before it was deleted or replaced. */
  | 'prev_hash_mismatch'
  /** The row at the anchored seq does not carry the anchored hash. */
  | 'anchor_mismatch'
  /** The chain ends before the anchored seq: rows were removed from its end. */
  | 'truncated';

export interface ChainBreak {
  readonly kind: ChainBreakKind;
  /** The seq the break shows at (for `truncated`, the anchored seq). */
  readonly seq: string;
  /** One line for an operator. */
  readonly reason: string;
}

/** An externally kept (seq, hash) of a row the chain must still contain. */
export interface ChainAnchor {
  readonly seq: string;
  readonly hash: string;
}

export type ChainResult =
  | { readonly ok: true; readonly count: number; readonly head: { seq: string; hash: string } | null }
  | { readonly ok: false; readonly count: number; readonly break: ChainBreak };

/**
 * Checks rows one at a time, in seq order from seq 1, so a long chain can be read in pages. After the
 * first break it ignores further rows; `result()` reports that break (or the head of an intact chain).
 */
export class ChainVerifier {
  private expectedSeq = 1n;
  private expectedPrev = GENESIS_HASH;
  private count = 0;
  private head: { seq: string; hash: string } | null = null;
  private broken: ChainBreak | null = null;
  private anchorSeen = false;

  constructor(private readonly anchor?: ChainAnchor) {}

  /** Checks the next row; false once the chain is broken (stop reading). */
  push(row: AuditRow): boolean {
    if (this.broken) {
      return false;
    }
    this.broken = this.check(row);
    if (this.broken) {
      return false;
    }
    this.count += 1;
    this.expectedSeq += 1n;
    this.expectedPrev = row.hash;
    this.head = { seq: row.seq, hash: row.hash };
    return true;
  }

  result(): ChainResult {
    if (!this.broken && this.anchor && !this.anchorSeen) {
      this.broken = {
        kind: 'truncated',
        seq: this.anchor.seq,
        reason:
          `the chain ends at seq ${this.head?.seq ?? '0'}, before the anchored seq ${this.anchor.seq}: ` +
          'rows were removed from its end',
      };
    }
    return this.broken
      ? { ok: false, count: this.count, break: this.broken }
      : { ok: true, count: this.count, head: this.head };
  }

  private check(row: AuditRow): ChainBreak | null {
    const seq = parseSeq(row.seq);
    if (seq === null || seq < this.expectedSeq) {
      return { kind: 'seq_order', seq: row.seq, reason: `seq ${row.seq} follows seq ${this.expectedSeq - 1n}` };
    }
    if (seq > this.expectedSeq) {
      const missing =
        seq - this.expectedSeq === 1n ? `seq ${this.expectedSeq}` : `seq ${this.expectedSeq}..${seq - 1n}`;
      return {
        kind: 'seq_gap',
        seq: this.expectedSeq.toString(),
        reason: `${missing} missing (deleted): the chain jumps from seq ${this.expectedSeq - 1n} to seq ${seq}`,
      };
    }
    if (row.prevHash !== this.expectedPrev) {
      return {
        kind: 'prev_hash_mismatch',
        seq: row.seq,
        reason:
          seq === 1n
            ? 'seq 1 does not start from the genesis hash: earlier rows were removed'
            : `seq ${row.seq}: prev_hash is not the hash of seq ${seq - 1n} (a row was deleted or replaced)`,
      };
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
    if (this.anchor && this.anchor.seq === row.seq) {
      this.anchorSeen = true;
      if (this.anchor.hash !== row.hash) {
        return {
          kind: 'anchor_mismatch',
          seq: row.seq,
          reason: `seq ${row.seq} does not carry the anchored hash: the chain was rewritten up to or after it`,
        };
      }
    }
    return null;
  }
}

function parseSeq(text: string): bigint | null {
  return /^[1-9][0-9]*$/.test(text) ? BigInt(text) : null;
}

/**
 * Verifies a whole chain given in seq order from seq 1 (an empty chain is intact: with no anchor,
 * deleting every row cannot be told from a new log). Reports the first break.
 */
export function verifyChain(rows: Iterable<AuditRow>, anchor?: ChainAnchor): ChainResult {
  const verifier = new ChainVerifier(anchor);
  for (const row of rows) {
    if (!verifier.push(row)) {
      break;
    }
  }
  return verifier.result();
}
