import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityManager } from 'typeorm';
import { countingQueries } from '../../../../test/support/counting-manager.js';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { combine, flushingManager, WriteBatch } from './write-batch.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.dataSource.query(`CREATE TABLE wb_rows (id integer PRIMARY KEY, v text NOT NULL)`);
});
afterAll(async () => {
  await db?.drop();
});

const insert = (id: number, v: string) => ({
  sql: `INSERT INTO wb_rows (id, v) VALUES ($1, $2)`,
  params: [id, v],
  key: `wb_rows:${id}`,
});
const save = (id: number, v: string) => ({
  sql: `UPDATE wb_rows SET v = $2 WHERE id = $1`,
  params: [id, v],
  key: `wb_rows:${id}`,
  supersedes: true,
});

/** Runs `work` in a transaction with a batch, counting the statements that reach PostgreSQL. */
async function inBatch(work: (batch: WriteBatch, manager: EntityManager) => Promise<void>): Promise<number> {
  let statements = 0;
  await db.dataSource.transaction(async (raw) => {
    const { manager: counting, calls } = countingQueries(raw);
    const batch = new WriteBatch(counting);
    await work(batch, flushingManager(counting, batch));
    await batch.flush();
    statements = calls();
  });
  return statements;
}

const rows = async () => db.dataSource.query<{ id: number; v: string }[]>(`SELECT id, v FROM wb_rows ORDER BY id`);

describe('WriteBatch (real PostgreSQL)', () => {
  it('renumbers each write’s parameters after the ones before it', () => {
    const { sql, params } = combine([insert(1, 'a'), save(2, 'b')]);
    expect(sql).toBe(
      'WITH w0 AS (INSERT INTO wb_rows (id, v) VALUES ($1, $2)), w1 AS (UPDATE wb_rows SET v = $4 WHERE id = $3) SELECT 1',
    );
    expect(params).toEqual([1, 'a', 2, 'b']);
  });

  it('sends held writes as one statement, before a read that must see them', async () => {
    let seen: unknown[] = [];
    const statements = await inBatch(async (batch, manager) => {
      await batch.add(insert(1, 'one'));
      await batch.add(insert(2, 'two'));
      await batch.add(insert(3, 'three'));
      seen = await manager.query(`SELECT id FROM wb_rows ORDER BY id`);
    });
    expect(seen).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(statements).toBe(2); // the three inserts together, then the read
  });

  it('lets a save supersede the held save of the same row, and never sends two writes of one row together', async () => {
    const statements = await inBatch(async (batch) => {
      await batch.add(save(1, 'first'));
      await batch.add(save(1, 'second'));
      await batch.add(insert(4, 'four'));
      await batch.add(save(4, 'four, saved')); // the insert must reach the row before the update does
    });
    expect(statements).toBe(2);
    expect(await rows()).toEqual([
      { id: 1, v: 'second' },
      { id: 2, v: 'two' },
      { id: 3, v: 'three' },
      { id: 4, v: 'four, saved' },
    ]);
  });

  it('writes nothing when the transaction rolls back, and fails where the held write fails', async () => {
    await expect(
      inBatch(async (batch) => {
        await batch.add(insert(5, 'five'));
        await batch.add(insert(1, 'taken'));
      }),
    ).rejects.toThrow(/duplicate key/);
    expect((await rows()).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });
});
