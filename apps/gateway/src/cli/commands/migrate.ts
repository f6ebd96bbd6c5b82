import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { applyMigrations, createDataSource, ensureDatabase, migrationStates } from '../../database/data-source.js';
import { CliError, emit, EXIT_UNAVAILABLE } from '../cli-io.js';
import { action, type CliContext } from '../cli-context.js';

async function withDatabase<T>(
  ctx: CliContext,
  create: boolean,
  run: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const unreachable = (error: unknown): CliError =>
    new CliError(`PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`, EXIT_UNAVAILABLE);
  if (create) {
    await ensureDatabase(ctx.config.databaseUrl).catch((error: unknown) => {
      throw unreachable(error);
    });
  }
  const dataSource = createDataSource(ctx.config.databaseUrl, { maxConnections: 2 });
  await dataSource.initialize().catch((error: unknown) => {
    throw unreachable(error);
  });
  try {
    return await run(dataSource);
  } finally {
    await dataSource.destroy().catch(() => undefined);
  }
}

/**
 * `migrate up` applies the pending migrations of DATABASE_URL (creating the database when the server
 * has none of that name), each in its own transaction, under the advisory lock the instances take at
 * start, so it is safe beside running instances and beside another `migrate up`. `migrate status` lists
 * every migration of this build with whether the database has it; it changes nothing. Both exit 0 when
 * done, 2 when PostgreSQL cannot be reached. Deployments run `migrate up` as a step of their own (the
 * Helm chart's pre-upgrade Job) and start instances with DATABASE_MIGRATIONS=require.
 */
export function migrateCommand(): Command {
  const migrate = new Command('migrate').description('The database schema migrations');
  migrate
    .command('up')
    .description('Apply the pending migrations')
    .action(
      action(async (ctx) => {
        const applied = await withDatabase(ctx, true, applyMigrations);
        emit(ctx.options, { applied }, () =>
          applied.length === 0
            ? 'no pending migrations'
            : `applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`,
        );
      }),
    );
  migrate
    .command('status')
    .description('List the migrations and whether the database has them')
    .action(
      action(async (ctx) => {
        const migrations = await withDatabase(ctx, false, migrationStates);
        const pending = migrations.filter((state) => !state.applied).length;
        emit(ctx.options, { migrations, pending }, () =>
          [
            ...migrations.map((state) => `${state.applied ? 'applied' : 'pending'}  ${state.name}`),
            `${pending} pending`,
          ].join('\n'),
        );
      }),
    );
  return migrate;
}
