import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../apps/gateway/src/database/data-source.js';

/** The PostgreSQL server the tests use (trust auth, user postgres), overridable by TEST_DATABASE_URL. */
export const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function adminDatabaseUrl(): string {
  return SERVER_URL;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Connected, with every migration applied. */
  readonly dataSource: DataSource;
  drop(): Promise<void>;
}

/** A brand-new database for one test file, migrated with the real migrations. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `gw_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const dataSource = await openDatabase(url.toString());
  return {
    name,
    url: url.toString(),
    dataSource,
    drop: async () => {
      if (dataSource.isInitialized) {
        await dataSource.destroy();
      }
      const admin = new pg.Client({ connectionString: SERVER_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A Redis key prefix unique to one test file, so parallel files never see each other's fan-out. */
export function redisPrefix(): string {
  return `gwtest:${randomBytes(4).toString('hex')}:`;
}
