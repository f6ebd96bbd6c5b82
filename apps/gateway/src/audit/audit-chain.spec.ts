import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_PARTITIONS,
  type AuditFields,
  type AuditRow,
  canonicalJson,
  chainEntries,
  chainHash,
  chainTime,
  emptyHead,
  GENESIS_HASH,
  headDigest,
  type PartitionHead,
  partitionKey,
  partitionOf,
  verifyChain,
} from './audit-chain.js';

const T0 = Date.UTC(2026, 0, 5, 14, 30, 0, 123);

function fields(seq: number): AuditFields {
  return {
    seq: String(seq),
    occurredAt: chainTime(T0 + seq),
    kind: seq % 3 === 0 ? 'security' : 'change',
    requestId: `req-${seq}`,
    subject: seq % 3 === 0 ? null : 'trader-1',
    clientId: seq % 2 === 0 ? 'web-app' : null,
    method: 'POST',
    route: '/v1/accounts/:accountId/orders',
    action: 'orders.place',
    accountId: '0190a8f4-0000-7000-8000-000000000001',
    environment: 'paper',
    target: { accountId: '0190a8f4-0000-7000-8000-000000000001', clientOrderId: `c-${seq}` },
    status: seq % 3 === 0 ? 401 : 201,
    code: seq % 3 === 0 ? 'auth.unauthenticated' : null,
  };
}

/** A chain of `n` rows as the writer makes it. */
function chain(n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const f = fields(seq);
    const hash = chainHash(prevHash, f);
    rows.push({ ...f, prevHash, hash });
    prevHash = hash;
  }
  return rows;
}

/** Recomputes hashes from `from` on, as someone with write access covering their tracks would. */
function rehash(rows: AuditRow[], from = 0): AuditRow[] {
  const out = rows.slice(0, from);
  let prevHash = from === 0 ? GENESIS_HASH : rows[from - 1]!.hash;
  for (const row of rows.slice(from)) {
    const hash = chainHash(prevHash, row);
    out.push({ ...row, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

describe('canonicalJson', () => {
  it('is one text per value whatever the key order (jsonb reorders keys on the way back)', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } })).toBe('{"a":{"c":null,"d":[1,"x"]},"b":1}');
    expect(canonicalJson({ a: { c: null, d: [1, 'x'] }, b: 1 })).toBe(
      canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }),
    );
  });

  it('refuses what JSON cannot hold, rather than hashing something else', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(1n)).toThrow(TypeError);
  });
});

describe('chainHash', () => {
  it('is pinned: sha256(prev_hash || canonical JSON); a change of format would orphan every stored chain', () => {
    // Computed outside the code: printf "%s%s" <64 zeros> <this JSON> | sha256sum
    expect(canonicalJson({ ...fields(1) })).toBe(
      '{"accountId":"0190a8f4-0000-7000-8000-000000000001","action":"orders.place","clientId":null,"code":null,' +
        '"environment":"paper","kind":"change","method":"POST","occurredAt":"2026-01-05T14:30:00.124000Z",' +
        '"requestId":"req-1","route":"/v1/accounts/:accountId/orders","seq":"1","status":201,"subject":"trader-1",' +
        '"target":{"accountId":"0190a8f4-0000-7000-8000-000000000001","clientOrderId":"c-1"}}',
    );
    expect(chainHash(GENESIS_HASH, fields(1))).toBe('b536dffb45788f47ac361bade44f3ed241f2312815514573e2f9da4caf6d2e8c');
  });

  it('hashes only the row fields: prevHash and hash riding along on the object change nothing', () => {
    const [row] = chain(1);
    expect(chainHash(GENESIS_HASH, row!)).toBe(row!.hash);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head for anchoring; an empty chain is intact', () => {
    const rows = chain(5);
    expect(verifyChain(rows)).toEqual({ ok: true, count: 5, head: { seq: '5', hash: rows[4]!.hash } });
    expect(verifyChain([])).toEqual({ ok: true, count: 0, head: null });
  });

  it('names the seq of an edited row, whichever field of whichever row was edited', () => {
    const rows = chain(8);
    const edits: [keyof AuditFields, unknown][] = [
      ['occurredAt', chainTime(T0 - 1000)],
      ['kind', 'change'],
      ['requestId', 'forged'],
      ['subject', 'someone-else'],
      ['clientId', null],
      ['method', 'GET'],
      ['route', '/v1/elsewhere'],
      ['action', 'orders.cancel'],
      ['accountId', null],
      ['environment', 'live'],
      ['target', { accountId: 'x' }],
      ['status', 200],
      ['code', null],
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.constantFrom(...edits), (index, [field, value]) => {
        fc.pre(JSON.stringify(rows[index]![field]) !== JSON.stringify(value));
        const edited = rows.map((r, i) => (i === index ? { ...r, [field]: value } : r));
        const result = verifyChain(edited);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.break).toMatchObject({ kind: 'hash_mismatch', seq: String(index + 1) });
          expect(result.break.reason).toContain(`seq ${index + 1} was edited`);
          expect(result.count).toBe(index);
        }
      }),
    );
  });

  it('names the gap a deleted row leaves, anywhere but at the end', () => {
    const rows = chain(6);
    for (const deleted of [0, 2, 4]) {
      const result = verifyChain(rows.filter((_, i) => i !== deleted));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.break.kind).toBe('seq_gap');
        expect(result.break.seq).toBe(String(deleted + 1));
        expect(result.break.reason).toContain(`seq ${deleted + 1} missing`);
      }
    }
    const two = verifyChain(rows.filter((_, i) => i !== 2 && i !== 3));
    expect(!two.ok && two.break.reason).toContain('seq 3..4 missing');
  });

  it('finds a deletion hidden by renumbering, and an edit hidden by rehashing that one row', () => {
    const rows = chain(6);
    const renumbered = rows.filter((_, i) => i !== 2).map((r, i) => ({ ...r, seq: String(i + 1) }));
    const a = verifyChain(renumbered);
    expect(!a.ok && a.break).toMatchObject({ kind: 'prev_hash_mismatch', seq: '3' });

    const edited = rows.map((r, i) => (i === 1 ? { ...r, subject: 'forged' } : r));
    edited[1] = { ...edited[1]!, hash: chainHash(edited[1]!.prevHash, edited[1]!) };
    const b = verifyChain(edited);
    expect(!b.ok && b.break).toMatchObject({ kind: 'prev_hash_mismatch', seq: '3' });
  });

  it('cannot see a truncated or fully rewritten tail without an anchor, and can with one', () => {
    const rows = chain(6);
    const anchor = { seq: '6', hash: rows[5]!.hash };
    const truncated = rows.slice(0, 4);
    expect(verifyChain(truncated).ok).toBe(true);
    const t = verifyChain(truncated, anchor);
    expect(!t.ok && t.break).toMatchObject({ kind: 'truncated', seq: '6' });

    const rewritten = rehash(
      rows.map((r, i) => (i === 3 ? { ...r, status: 200 } : r)),
      3,
    );
    expect(verifyChain(rewritten).ok).toBe(true);
    const r = verifyChain(rewritten, anchor);
    expect(!r.ok && r.break).toMatchObject({ kind: 'anchor_mismatch', seq: '6' });

    expect(verifyChain(rows, anchor)).toMatchObject({ ok: true, count: 6 });
  });

  it('chainTime keeps microseconds, the precision PostgreSQL stores and gives back', () => {
    expect(chainTime(T0)).toBe('2026-01-05T14:30:00.123000Z');
  });
});

/** An account id (any text) whose entries fall in `partition`. */
function accountIn(partition: number): string {
  for (let i = 0; ; i++) {
    const accountId = `account-${i}`;
    if (partitionOf(partitionKey({ accountId, subject: null })) === partition) {
      return accountId;
    }
  }
}

/** `n` rows after the legacy rows `legacy`, spread over partitions 3, 7 and 12 as the writer chains them. */
function partitioned(n: number, legacy: AuditRow[] = []): { rows: AuditRow[]; heads: PartitionHead[] } {
  const parts = [3, 7, 12];
  let heads = new Map(Array.from({ length: AUDIT_PARTITIONS }, (_, p) => [p, emptyHead(p)]));
  const rows = [...legacy];
  for (let i = 0; i < n; i++) {
    const seq = legacy.length + i + 1 + (i > 4 ? 2 : 0); // a gap in seq: a write that failed
    const partition = parts[i % 3]!;
    const { seq: _, ...entry } = fields(seq);
    const chained = chainEntries(heads, [String(seq)], [{ ...entry, accountId: accountIn(partition), partition }]);
    heads = chained.heads;
    rows.push(...chained.rows);
  }
  return { rows, heads: [...heads.values()] };
}

describe('partitioned chains', () => {
  it('puts every entry of one account in one partition, and spreads accounts over all of them', () => {
    const id = '0190A8F4-0000-7000-8000-000000000001';
    expect(partitionOf(partitionKey({ accountId: id, subject: 'x' }))).toBe(
      partitionOf(partitionKey({ accountId: id.toLowerCase(), subject: null })),
    );
    const seen = new Set(Array.from({ length: 500 }, (_, i) => partitionOf(`account:${i}`)));
    expect(seen.size).toBe(AUDIT_PARTITIONS);
  });

  it('verifies interleaved partitions after the legacy chain, and reports the head digest of every chain', () => {
    const legacy = chain(3);
    const { rows, heads } = partitioned(9, legacy);
    const result = verifyChain(rows, undefined, heads);
    expect(result).toEqual({
      ok: true,
      count: 12,
      head: { seq: rows.at(-1)!.seq, hash: headDigest({ seq: '3', hash: legacy[2]!.hash }, heads) },
    });
    // An anchor kept before the partitions still checks: the legacy chain is unchanged.
    expect(verifyChain(rows, { seq: '3', hash: legacy[2]!.hash }).ok).toBe(true);
    expect(verifyChain(rows, { seq: '3', hash: legacy[1]!.hash })).toMatchObject({
      ok: false,
      break: { kind: 'anchor_mismatch', seq: '3' },
    });
  });

  it('names an edited, a deleted, an inserted and a reordered row of a partition other than the first', () => {
    const { rows } = partitioned(9);
    // rows[4] is partition 7's second row, rows[7] (seq 10) its third.
    const victim = rows[4]!;
    expect(victim.partition).toBe(7);

    const edited = verifyChain(rows.map((r, i) => (i === 4 ? { ...r, status: 500 } : r)));
    expect(!edited.ok && edited.break).toMatchObject({ kind: 'hash_mismatch', seq: victim.seq });
    expect(!edited.ok && edited.count).toBe(4);

    const deleted = verifyChain(rows.filter((_, i) => i !== 4));
    expect(!deleted.ok && deleted.break).toMatchObject({ kind: 'seq_gap', seq: victim.seq });
    expect(!deleted.ok && deleted.break.reason).toContain(`seq ${victim.seq} missing (deleted)`);

    // Deleted and the partition renumbered and rehashed after it: the next row still names its predecessor.
    const next = rows[7]!;
    const renumbered = { ...next, partitionSeq: victim.partitionSeq, prevHash: rows[1]!.hash };
    const hidden = rows
      .filter((_, i) => i !== 4)
      .map((r) => (r === next ? { ...renumbered, hash: chainHash(renumbered.prevHash, renumbered) } : r));
    expect(verifyChain(hidden).ok).toBe(false);
    const h = verifyChain(hidden);
    expect(!h.ok && h.break).toMatchObject({ kind: 'prev_hash_mismatch', seq: next.seq });

    // A row forged into a gap of seq (6, 7: failed writes), chained properly after partition 7's head.
    const forgedFields = { ...victim, seq: '7', requestId: 'forged', partitionSeq: '3', prevSeq: victim.seq };
    const forged = { ...forgedFields, prevHash: victim.hash, hash: chainHash(victim.hash, forgedFields) };
    const inserted = verifyChain([...rows.slice(0, 5), forged, ...rows.slice(5)]);
    expect(!inserted.ok && inserted.break).toMatchObject({ kind: 'seq_order', seq: next.seq });

    // Two rows of partition 7 swapped (their seqs exchanged, each rehashed).
    const swapped = rows
      .map((r, i) => (i === 4 ? { ...next, seq: victim.seq } : i === 7 ? { ...victim, seq: next.seq } : r))
      .map((r) => (r.partition === 7 ? { ...r, hash: chainHash(r.prevHash, r) } : r));
    const s = verifyChain(swapped);
    expect(!s.ok && s.break).toMatchObject({ kind: 'seq_gap', seq: victim.seq });
  });

  it('finds a partition tail removed or rewritten: against the anchor, and against the heads the database keeps', () => {
    const { rows, heads } = partitioned(9);
    const ok = verifyChain(rows, undefined, heads);
    const anchor = ok.ok ? ok.head! : null;
    expect(verifyChain(rows, anchor!, heads).ok).toBe(true);

    // Partition 3's last row (seq 9) is not the log's last row: the chain alone cannot see it go.
    const tail = rows.findLast((r) => r.partition === 3)!;
    expect(tail).not.toBe(rows.at(-1));
    const cut = rows.filter((r) => r !== tail);
    expect(verifyChain(cut).ok).toBe(true);
    expect(verifyChain(cut, anchor!)).toMatchObject({
      ok: false,
      break: { kind: 'anchor_mismatch', seq: anchor!.seq },
    });
    expect(verifyChain(cut, undefined, heads)).toMatchObject({
      ok: false,
      break: { kind: 'truncated', seq: tail.seq },
    });

    // The log's last row removed: it ends before the anchored seq.
    expect(verifyChain(rows.slice(0, -1), anchor!)).toMatchObject({ ok: false, break: { kind: 'truncated' } });

    // Partition 12's tail rewritten with recomputed hashes.
    const last = rows.at(-1)!;
    const rewrittenFields = { ...last, status: 200 };
    const rewritten = [...rows.slice(0, -1), { ...rewrittenFields, hash: chainHash(last.prevHash, rewrittenFields) }];
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(verifyChain(rewritten, anchor!)).toMatchObject({ ok: false, break: { kind: 'anchor_mismatch' } });
    expect(verifyChain(rewritten, undefined, heads)).toMatchObject({ ok: false, break: { kind: 'anchor_mismatch' } });
  });
});
