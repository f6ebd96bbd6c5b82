import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { orderLedger } from '../../../../test/support/order-repositories.js';
import { pendingOrder } from '../../../../test/support/orders.js';
import { AccountRepository } from '../accounts/account.repository.js';
import type { OrderLedger } from './order-ledger.js';

let db: TestDatabase;
let ledger: OrderLedger;
let accountId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ledger = await orderLedger(db.dataSource, pino({ level: 'silent' }));
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('ledger-test')).id;
});
afterAll(async () => {
  await db?.drop();
});

const newOrder = (n: number) => pendingOrder(accountId, `c-${n}`);

describe('OrderLedger (real PostgreSQL)', () => {
  it('hands out a gapless per-account seq to concurrent transactions', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        ledger.inAccount(accountId, async (tx) => {
          const order = await tx.insertOrder(newOrder(n), 'pending_new', 'paper');
          await tx.applyEvent(order, { kind: 'accepted', at: Date.now(), brokerOrderId: `B-${n}` });
        }),
      ),
    );
    const seqs = results.flatMap((r) => r!.events.map((e) => e.seq)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    const rows: { seq: string }[] = await db.dataSource.query(
      'SELECT seq FROM order_events WHERE account_id = $1 ORDER BY seq',
      [accountId],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(seqs);
    const [account] = await db.dataSource.query('SELECT last_seq FROM accounts WHERE id = $1', [accountId]);
    expect(Number(account.last_seq)).toBe(80);
  });

  it('keeps order events append-only: UPDATE and DELETE are refused by the database', async () => {
    await expect(
      db.dataSource.query(`UPDATE order_events SET event = 'filled' WHERE account_id = $1`, [accountId]),
    ).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`DELETE FROM order_events WHERE account_id = $1`, [accountId])).rejects.toThrow(
      /append-only/,
    );
  });

  it('rolls back the seq with the transaction when the work fails', async () => {
    const before = await db.dataSource.query('SELECT last_seq FROM accounts WHERE id = $1', [accountId]);
    await expect(
      ledger.inAccount(accountId, async (tx) => {
        await tx.insertOrder(newOrder(1000), 'pending_new', 'paper');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = await db.dataSource.query('SELECT last_seq FROM accounts WHERE id = $1', [accountId]);
    expect(after).toEqual(before);
  });

  it('ends work that recorded nothing with a rollback, not a commit; an event appended all the same commits', async () => {
    const updatedAt = async () => {
      const rows: { updated_at: Date }[] = await db.dataSource.query('SELECT updated_at FROM accounts WHERE id = $1', [
        accountId,
      ]);
      return rows[0]?.updated_at;
    };
    const before = await updatedAt();
    // A write through the manager stands in for what a commit would make durable: it does not survive.
    const readOnly = await ledger.inAccount(accountId, async (tx) => {
      await tx.manager.query(`UPDATE accounts SET updated_at = '2000-01-01' WHERE id = $1`, [accountId]);
      tx.recordsNothing();
      return 'read';
    });
    expect(readOnly).toEqual({ result: 'read', events: [] });
    expect(await updatedAt()).toEqual(before);

    const order = newOrder(2000);
    const appended = await ledger.inAccount(accountId, async (tx) => {
      tx.recordsNothing();
      await tx.insertOrder(order, 'pending_new', 'paper');
    });
    expect(appended?.events.map((e) => e.event)).toEqual(['pending_new']);
    const rows: unknown[] = await db.dataSource.query('SELECT id FROM orders WHERE id = $1', [order.id]);
    expect(rows).toHaveLength(1);
  });

  it('answers null for an account that does not exist', async () => {
    expect(await ledger.inAccount(uuidv7(), () => Promise.resolve(1))).toBeNull();
  });
});
