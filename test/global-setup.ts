import { Redis } from 'ioredis';
import pg from 'pg';
import { adminDatabaseUrl, REDIS_URL } from './support/database.js';

/**
 * Before any test: PostgreSQL and Redis must answer (the tests never mock them). Each test file then
 * makes its own fresh database with the real migrations (support/database.ts) and drops it after.
 */
export default async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(`tests need PostgreSQL at ${adminDatabaseUrl()}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`tests need Redis at ${REDIS_URL}: ${(error as Error).message}`, { cause: error });
  } finally {
    redis.disconnect();
  }
}
