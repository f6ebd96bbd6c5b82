import { MIGRATIONS } from '@gateway/migrations';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { VENUE_BOOK_COMMIT } from '@gateway/brokers';
import { ENTITIES } from './entities.js';

/** The `application_name` of the gateway's own connections (pg_stat_activity, server logs). */
export const GATEWAY_APPLICATION_NAME = 'gateway';

/** Who opens the connections and how many at most. Defaults: the gateway's, 20. */
export interface DataSourceOptions {
  /** The connections' `application_name`, telling them apart on the server. */
  readonly applicationName?: string;
  readonly maxConnections?: number;
  /**
   * `synchronous_commit = off` for these connections (PAPER_VENUE_SYNCHRONOUS_COMMIT): their commits
   * return before their WAL is flushed. Only the paper venue's book asks for it (VENUE_BOOK_COMMIT).
   */
  readonly asynchronousCommit?: boolean;
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
    extra: {
      max: options.maxConnections ?? 20,
      connectionTimeoutMillis: 5_000,
      types: GATEWAY_PG_TYPES,
      ...(options.asynchronousCommit ? VENUE_BOOK_COMMIT : {}),
    },
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

/** One migration and whether the database has it. */
export interface MigrationState {
  readonly name: string;
  readonly applied: boolean;
}

/**
 * Every migration this build knows, in order, with whether the database has applied it. A database with
 * no `migrations` table yet has applied none.
 */
export async function migrationStates(dataSource: DataSource): Promise<MigrationState[]> {
  const table = await dataSource.query<{ present: boolean }[]>(
    `SELECT to_regclass('migrations') IS NOT NULL AS present`,
  );
  const applied = new Set<string>();
  if (table[0]?.present) {
    const rows = await dataSource.query<{ name: string }[]>('SELECT name FROM migrations');
    rows.forEach((row) => applied.add(row.name));
  }
  return dataSource.migrations.map((migration) => {
    const name = migration.name ?? migration.constructor.name;
    return { name, applied: applied.has(name) };
  });
}

/**
 * Applies the pending migrations, each in its own transaction. Several instances may start together:
 * one migrates while the others wait on the advisory lock, then find nothing left to do. Returns the
 * names applied by this call.
 */
export async function applyMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('gateway:migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('gateway:migrations'))`).catch(() => undefined);
    await runner.release();
  }
}

/**
 * Thrown by `openDatabase` with `migrations: 'require'` when the database lacks migrations this build
 * needs: the deployment runs them as a step of its own (`gateway migrate up`) before starting instances.
 */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(
      `the database lacks ${pending.length} migration(s) this build needs (${pending.join(', ')}); ` +
        `run "npm run cli -- migrate up" (the migration step) first, or start with DATABASE_MIGRATIONS=apply`,
    );
    this.name = 'PendingMigrationsError';
  }
}

/**
 * Connects, creating the database if needed. `apply` (the default, for a single machine) applies the
 * pending migrations; `require` (deployments that migrate in a step of their own, as the Helm chart's
 * pre-upgrade Job does) changes nothing and refuses a database that lacks one.
 */
export async function openDatabase(
  url: string,
  migrations: 'apply' | 'require' = 'apply',
  options: DataSourceOptions = {},
): Promise<DataSource> {
  await ensureDatabase(url);
  const dataSource = createDataSource(url, options);
  await dataSource.initialize();
  try {
    if (migrations === 'apply') {
      await applyMigrations(dataSource);
    } else {
      const pending = (await migrationStates(dataSource)).filter((state) => !state.applied);
      if (pending.length > 0) {
        throw new PendingMigrationsError(pending.map((state) => state.name));
      }
    }
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}
