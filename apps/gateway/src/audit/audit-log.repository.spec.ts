import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { createDataSource } from '../database/data-source.js';
import { chainTime } from './audit-chain.js';
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
