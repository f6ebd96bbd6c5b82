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
});
