import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { MIGRATIONS } from './index.js';

/** The schema as PostgreSQL describes it: tables, columns with types, indexes, triggers. */
async function schema(db: TestDatabase): Promise<unknown> {
  const q = (sql: string) => db.dataSource.query(sql);
  return {
    columns: await q(`SELECT table_name, column_name, data_type, is_nullable, column_default
                        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'migrations'
                       ORDER BY table_name, column_name`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`),
    triggers: await q(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`),
  };
}

/** The open orders summed in SQL, as `working_exposure` keeps them, in its row order. */
const SUMS_OF_OPEN_ORDERS = `
  SELECT account_id, symbol, side, stop AS stop_price, count(*)::int AS order_count, sum(leaves) AS leaves_quantity,
         coalesce(sum(leaves) FILTER (WHERE position_effect = 'close'), 0) AS closing_quantity,
         coalesce(sum(leaves * limit_price), 0) AS limit_notional,
         coalesce(sum(leaves) FILTER (WHERE limit_price IS NULL AND stop_price IS NULL), 0) AS market_quantity
    FROM (SELECT *, greatest(quantity - filled_quantity, 0) AS leaves,
                 CASE WHEN limit_price IS NULL THEN coalesce(stop_price, 0) ELSE 0 END AS stop
            FROM orders
           WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'pending_replace', 'unknown')) o
   GROUP BY account_id, symbol, side, stop
   ORDER BY account_id, symbol, side, stop`;

/** `working_exposure`, decimals without trailing zeros (so that 150.00 and 150 compare equal). */
async function workingExposure(db: TestDatabase, sql = `SELECT * FROM working_exposure ORDER BY 1, 2, 3, 4`) {
  const rows: Record<string, unknown>[] = await db.dataSource.query(sql);
  const trimmed = (v: unknown) => (typeof v === 'string' && /^-?\d+\.\d+$/.test(v) ? v.replace(/\.?0+$/, '') : v);
  return rows.map((r) => Object.values(r).map(trimmed));
}

/** `n` orders of `accountId` in every type, status, side and position effect, made from `g`. */
async function insertOrders(db: TestDatabase, accountId: string, prefix: string, n: number): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO orders (id, account_id, client_order_id, environment, venue, symbol, side, type, time_in_force,
       quantity, limit_price, stop_price, position_effect, status, filled_quantity, created_at, updated_at, last_seq)
     SELECT gen_random_uuid(), $1, $2 || g, 'paper', 'paper', (ARRAY['SPY', 'QQQ'])[1 + g % 2],
       (ARRAY['buy', 'sell'])[1 + g / 2 % 2], (ARRAY['market', 'limit', 'stop', 'stop_limit'])[1 + g % 4], 'day',
       2 + g % 7, CASE WHEN g % 4 IN (1, 3) THEN 100 + g % 5 END, CASE WHEN g % 4 IN (2, 3) THEN 99.50 + g % 3 END,
       (ARRAY['open', 'close', NULL])[1 + g % 3], (ARRAY['pending_new', 'new', 'partially_filled', 'filled', 'unknown'])[1 + g % 5],
       CASE WHEN g % 5 = 2 THEN 1 ELSE 0 END, now(), now(), g
       FROM generate_series(1, $3::int) g`,
    [accountId, prefix, n],
  );
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('migrations', () => {
  it('each down() is the exact inverse of its up(): reverting and reapplying the last yields the same schema', async () => {
    const migrated = await schema(db);
    const last = MIGRATIONS.length;
    for (let i = 0; i < last - 1; i++) {
      await db.dataSource.undoLastMigration();
    }
    const first = await schema(db);
    expect(first).not.toEqual(migrated);
    await db.dataSource.runMigrations();
    expect(await schema(db)).toEqual(migrated);
  });

  it('the risk-control history tables are append-only', async () => {
    const [account] = await db.dataSource.query(
      `INSERT INTO accounts (id, name, environment, broker) VALUES (gen_random_uuid(), 'm', 'paper', 'paper') RETURNING id`,
    );
    await db.dataSource.query(
      `INSERT INTO risk_limits (account_id, version, limits, changed_by, reason, changed_at) VALUES ($1, 1, '{}', 'x', 'y', now())`,
      [account.id],
    );
    await expect(db.dataSource.query(`UPDATE risk_limits SET reason = 'z'`)).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`DELETE FROM risk_limits`)).rejects.toThrow(/append-only/);
  });

  it('keeps working_exposure the sum of the open orders through inserts, updates and deletes, from the orders before it', async () => {
    const [account] = await db.dataSource.query(
      `INSERT INTO accounts (id, name, environment, broker) VALUES (gen_random_uuid(), 'w', 'paper', 'paper') RETURNING id`,
    );
    await db.dataSource.undoLastMigration();
    await insertOrders(db, account.id, 'before-', 40);
    await db.dataSource.runMigrations();
    expect((await workingExposure(db)).length).toBeGreaterThan(4);
    expect(await workingExposure(db)).toEqual(await workingExposure(db, SUMS_OF_OPEN_ORDERS));
    await insertOrders(db, account.id, 'after-', 200);
    const changes = [
      `UPDATE orders SET filled_quantity = filled_quantity + 1, status = 'partially_filled' WHERE last_seq % 3 = 0 AND status IN ('new', 'pending_new')`,
      `UPDATE orders SET status = 'pending_cancel', cancel_requested_at = now() WHERE last_seq % 4 = 1 AND status = 'new'`,
      `UPDATE orders SET status = 'canceled' WHERE last_seq % 5 = 1 AND status <> 'filled'`,
      `UPDATE orders SET limit_price = limit_price + 1, quantity = quantity + 2 WHERE last_seq % 3 = 1 AND limit_price IS NOT NULL`,
      `UPDATE orders SET stop_price = stop_price + 0.5 WHERE last_seq % 7 = 2 AND stop_price IS NOT NULL`,
      `UPDATE orders SET filled_quantity = quantity + 1, overfilled = true WHERE last_seq % 11 = 0 AND status = 'partially_filled'`,
      `UPDATE orders SET status = 'filled', filled_quantity = quantity WHERE last_seq % 13 = 0`,
      `DELETE FROM orders WHERE last_seq % 17 = 0`,
    ];
    for (const sql of changes) {
      await db.dataSource.query(sql);
      expect(await workingExposure(db), sql).toEqual(await workingExposure(db, SUMS_OF_OPEN_ORDERS));
    }
    await db.dataSource.query(`UPDATE orders SET status = 'canceled'`);
    expect(await workingExposure(db)).toEqual([]);
  });
});
