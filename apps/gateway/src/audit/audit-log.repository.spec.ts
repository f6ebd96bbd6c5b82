import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { createDataSource } from '../database/data-source.js';
import { MIGRATIONS } from '../../../../migrations/index.js';
import { chainHash, chainTime, GENESIS_HASH, partitionKey, partitionOf } from './audit-chain.js';
import { type AuditDraft, AuditLogRepository, verifyAuditLog } from './audit-log.repository.js';

let db: TestDatabase;
let second: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  // A second connection pool on the same database: another gateway instance.
  second = await createDataSource(db.url).initialize();
});
afterAll(async () => {
  await second?.destroy();
  await db?.drop();
});

function draft(n: number, instance: string): AuditDraft {
  return {
    occurredAt: chainTime(Date.UTC(2026, 0, 5, 14, 30) + n),
    kind: 'change',
    requestId: `${instance}-${n}`,
    subject: 'trader-1',
    clientId: null,
    method: 'POST',
    route: '/v1/accounts/:accountId/orders',
    action: 'orders.place',
    accountId: 'not-an-account',
    environment: null,
    // Keys out of order and text beyond ASCII: jsonb and UTF-8 must give back what was hashed.
    target: { orderId: `o-${n}`, accountId: 'not-an-account', clientOrderId: `ünï-${n}-✓` },
    status: 201,
    code: null,
  };
}

describe('AuditLogRepository', () => {
  it('keeps one gapless, linear chain when two instances append at once', async () => {
    const a = new AuditLogRepository(db.dataSource);
    const b = new AuditLogRepository(second);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? a.append([draft(i, 'a')]) : b.append([draft(i, 'b'), draft(i + 1000, 'b')]),
      ),
    );
    const result = await verifyAuditLog(db.dataSource, undefined, 7);
    expect(result).toMatchObject({ ok: true, count: 60 });
    const page = await a.page(0, 1000);
    expect(page.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(page[0]!.target).toMatchObject({ clientOrderId: expect.stringMatching(/^ünï-\d+-✓$/) });
  });

  it('fills in the environment of the account a request named', async () => {
    const [account] = await db.dataSource.query<{ id: string }[]>(
      `INSERT INTO accounts (id, name, environment, broker) VALUES (gen_random_uuid(), 'audit-env', 'paper', 'paper') RETURNING id`,
    );
    const [row] = await new AuditLogRepository(db.dataSource).append([
      { ...draft(1, 'env'), accountId: account!.id.toUpperCase() },
    ]);
    expect(row!.environment).toBe('paper');
    expect((await verifyAuditLog(db.dataSource)).ok).toBe(true);
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

function draftIn(partition: number, n: number): AuditDraft {
  const accountId = accountIn(partition);
  return { ...draft(n, `p${partition}`), accountId, target: { accountId } };
}

describe('AuditLogRepository partitions', () => {
  it('appends to one partition while another partition is locked, and waits only for its own', async () => {
    const repository = new AuditLogRepository(db.dataSource);
    const holder = second.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT 1 FROM audit_log_heads WHERE partition = 5 FOR UPDATE`);
      let blockedDone = false;
      const blocked = repository.append([draftIn(5, 1)]).then((rows) => {
        blockedDone = true;
        return rows;
      });
      const free = await Promise.race([
        repository.append([draftIn(9, 2), draftIn(9, 3)]),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
      ]);
      expect(free?.map((r) => r.partition)).toEqual([9, 9]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(blockedDone).toBe(false);
      await holder.commitTransaction();
      const [row] = await blocked;
      expect(row).toMatchObject({ partition: 5, partitionSeq: '1', prevSeq: '0', prevHash: GENESIS_HASH });
      // It took its seq once it had the lock: after partition 9's, though it asked first.
      expect(BigInt(row!.seq)).toBeGreaterThan(BigInt(free![1]!.seq));
    } finally {
      if (holder.isTransactionActive) {
        await holder.rollbackTransaction();
      }
      await holder.release();
    }
    expect(await verifyAuditLog(db.dataSource)).toMatchObject({ ok: true });
  });

  it('finds an edited, a deleted and a removed tail row in a partition other than the first', async () => {
    const own = await createTestDatabase();
    try {
      const repository = new AuditLogRepository(own.dataSource);
      for (let i = 0; i < 3; i++) {
        await repository.append([draftIn(2, i), draftIn(17, i), draftIn(30, i)]);
      }
      const rows = await own.dataSource.query<{ seq: string; partition_seq: string }[]>(
        `SELECT seq::text AS seq, partition_seq::text AS partition_seq FROM audit_log WHERE partition = 17 ORDER BY seq`,
      );
      expect(rows.map((r) => r.partition_seq)).toEqual(['1', '2', '3']);
      const intact = await verifyAuditLog(own.dataSource);
      expect(intact).toMatchObject({ ok: true, count: 9 });
      const anchor = intact.ok ? intact.head! : undefined;

      await own.dataSource.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
      await own.dataSource.query(`UPDATE audit_log SET status = 500 WHERE seq = $1`, [rows[1]!.seq]);
      const edited = await verifyAuditLog(own.dataSource, anchor);
      expect(!edited.ok && edited.break).toMatchObject({ kind: 'hash_mismatch', seq: rows[1]!.seq });
      await own.dataSource.query(`UPDATE audit_log SET status = 201 WHERE seq = $1`, [rows[1]!.seq]);
      expect(await verifyAuditLog(own.dataSource, anchor)).toMatchObject({ ok: true, count: 9 });

      // Partition 17's last row is not the log's last: without the heads and the anchor it would not show.
      await own.dataSource.query(`DELETE FROM audit_log WHERE seq = $1`, [rows[2]!.seq]);
      const tail = await verifyAuditLog(own.dataSource);
      expect(!tail.ok && tail.break).toMatchObject({ kind: 'truncated', seq: rows[2]!.seq });
      await own.dataSource.query(
        `UPDATE audit_log_heads SET seq = $1, partition_seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = $1)
          WHERE partition = 17`,
        [rows[1]!.seq],
      );
      expect((await verifyAuditLog(own.dataSource)).ok).toBe(true);
      const anchored = await verifyAuditLog(own.dataSource, anchor);
      expect(!anchored.ok && anchored.break).toMatchObject({ kind: 'anchor_mismatch', seq: anchor!.seq });

      await own.dataSource.query(`DELETE FROM audit_log WHERE seq = $1`, [rows[0]!.seq]);
      const deleted = await verifyAuditLog(own.dataSource);
      expect(!deleted.ok && deleted.break).toMatchObject({ kind: 'seq_gap', seq: rows[0]!.seq });
      expect(!deleted.ok && deleted.break.reason).toContain(`seq ${rows[0]!.seq} missing (deleted)`);
    } finally {
      await own.drop();
    }
  });

  it('keeps the rows written before the partitions verifiable as one chain, with new rows after them', async () => {
    const own = await createTestDatabase();
    try {
      // Back to the schema before the partitions: undo every migration from them on.
      const partitions = MIGRATIONS.findIndex((m) => m.name === 'AuditPartitions1795651200000');
      expect(partitions).toBeGreaterThan(0);
      for (let n = MIGRATIONS.length; n > partitions; n--) {
        await own.dataSource.undoLastMigration();
      }
      // The chain as the writer before the partitions made it.
      let prevHash = GENESIS_HASH;
      for (let seq = 1; seq <= 3; seq++) {
        const fields = { ...draft(seq, 'legacy'), seq: String(seq) };
        const hash = chainHash(prevHash, fields);
        await own.dataSource.query(
          `INSERT INTO audit_log (seq, occurred_at, kind, request_id, subject, client_id, method, route, action,
                                  account_id, environment, target, status, code, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
          [
            fields.seq,
            fields.occurredAt,
            fields.kind,
            fields.requestId,
            fields.subject,
            fields.clientId,
            fields.method,
            fields.route,
            fields.action,
            fields.accountId,
            fields.environment,
            JSON.stringify(fields.target),
            fields.status,
            fields.code,
            prevHash,
            hash,
          ],
        );
        prevHash = hash;
      }
      const legacyHead = { seq: '3', hash: prevHash };
      await own.dataSource.runMigrations();
      expect(await verifyAuditLog(own.dataSource)).toEqual({ ok: true, count: 3, head: legacyHead });

      const written = await new AuditLogRepository(own.dataSource).append([draftIn(4, 1), draftIn(11, 2)]);
      expect(written.map((r) => r.seq)).toEqual(['4', '5']);
      expect(await verifyAuditLog(own.dataSource, legacyHead)).toMatchObject({ ok: true, count: 5 });

      await own.dataSource.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
      await own.dataSource.query(`UPDATE audit_log SET subject = 'forged' WHERE seq = 2`);
      const edited = await verifyAuditLog(own.dataSource);
      expect(!edited.ok && edited.break).toMatchObject({ kind: 'hash_mismatch', seq: '2' });
    } finally {
      await own.drop();
    }
  });
});
