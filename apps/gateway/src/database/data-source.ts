import { MIGRATIONS } from '@gateway/migrations';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities.js';

/** The `application_name` of the gateway's own connections (pg_stat_activity, server logs). */
export const GATEWAY_APPLICATION_NAME = 'gateway';

/** Who opens the connections and how many at most. Defaults: the gateway's, 20. */
export interface DataSourceOptions {
  /** The connections' `application_name`, telling them apart on the server. */
  readonly applicationName?: string;
  readonly maxConnections?: number;
}

/**
 * How the gateway's connections parse column values: node-pg's own parsers, except `date`, which stays
 * the server's text (`YYYY-MM-DD`, a trading day). node-pg would make a `Date` at local midnight of it:
 * a raw query's `trading_day` then never equals the `YYYY-MM-DD` string it is compared with (the daily
 * loss check read no realized P&L), and its UTC form names the previous day east of Greenwich. Chosen
 * over a cast in each query, which every future query must remember, and over `pg.types.setTypeParser`,
 * which changes every pg client in the process: these overrides are the pool's, set where the
 * DataSource is built, and so hold for every query of the gateway, its CLI and the tests. TypeORM's
 * entity `date` columns (typed `string`) read the same text as before (it turned the `Date` back into it).
 */
const DATE_OID: number = pg.types.builtins.DATE;
type TextParser = (value: string) => unknown;
export const GATEWAY_PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): TextParser =>
    oid === DATE_OID && format !== 'binary'
      ? (value: string) => value
      : (pg.types.getTypeParser(oid, format) as TextParser)) as typeof pg.types.getTypeParser,
};

// Postgres `bigint` (int8) and `numeric` stay strings: seq fits a JS number only by our own choice,
// and decimals must never pass through a float. `date` stays a string too (GATEWAY_PG_TYPES).
export function createDataSource(url: string, options: DataSourceOptions = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    applicationName: options.applicationName ?? GATEWAY_APPLICATION_NAME,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: options.maxConnections ?? 20, connectionTimeoutMillis: 5_000, types: GATEWAY_PG_TYPES },
  });
}

/**
 * Creates the database named in `url` when the server is up but the database is not there yet
 * (a fresh machine's first start). Connects to the server's `postgres` database to do it.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) {
    return;
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } catch (error) {
    // Another instance created it at the same moment.
    if ((error as { code?: string }).code !== '42P04') {
      throw error;
    }
  } finally {
    await client.end();
  }
}

/** Connects, creating the database if needed, and applies pending migrations. */
export async function openDatabase(url: string): Promise<DataSource> {
  await ensureDatabase(url);
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  // Several instances may start together: one migrates while the others wait on the advisory lock.
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('gateway:migrations'))`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('gateway:migrations'))`).catch(() => undefined);
    await runner.release();
  }
  return dataSource;
}
