import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { loadConfig } from '../config/config.js';
import { createDataSource } from './data-source.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function synchronousCommit(options: Parameters<typeof createDataSource>[1]): Promise<string> {
  const source = await createDataSource(db.url, options).initialize();
  try {
    const [row] = await source.query<{ synchronous_commit: string }[]>('SHOW synchronous_commit');
    return row?.synchronous_commit ?? '';
  } finally {
    await source.destroy();
  }
}

describe('commit durability of the connections', () => {
  it("keeps the gateway's own commits synchronous: the intent and every order transaction are durable", async () => {
    expect(await synchronousCommit({})).toBe('on');
  });

  it("commits the in-process paper venue's book asynchronously unless PAPER_VENUE_SYNCHRONOUS_COMMIT is set", async () => {
    expect(loadConfig({}).paperVenueSynchronousCommit).toBe(false);
    expect(loadConfig({ PAPER_VENUE_SYNCHRONOUS_COMMIT: 'true' }).paperVenueSynchronousCommit).toBe(true);
    expect(await synchronousCommit({ asynchronousCommit: true })).toBe('off');
  });
});
