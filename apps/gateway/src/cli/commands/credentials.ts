import { Command } from 'commander';
import { BrokerCredentialRepository } from '../../credentials/broker-credential.repository.js';
import { createDataSource } from '../../database/data-source.js';
import { CliError, emit, EXIT_UNAVAILABLE } from '../cli-io.js';
import { action } from '../cli-context.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** `credentials list`: every stored broker credential's owner, kind, key and expiries; never a secret. */
export function credentialsCommand(): Command {
  const credentials = new Command('credentials').description('Stored broker credentials (never their secrets)');
  credentials
    .command('list')
    .description('Every stored credential: account, broker, environment, kind, key, expiries')
    .action(
      action(async (ctx) => {
        const dataSource = await createDataSource(ctx.config.databaseUrl)
          .initialize()
          .catch((error: unknown) => {
            throw new CliError(
              `PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`,
              EXIT_UNAVAILABLE,
            );
          });
        try {
          // Reads the non-secret columns only: nothing is decrypted, no key provider is opened.
          const list = (await new BrokerCredentialRepository(dataSource).list()).map((c) => ({
            ...c,
            accessExpiresAt: iso(c.accessExpiresAt),
            refreshExpiresAt: iso(c.refreshExpiresAt),
            updatedAt: iso(c.updatedAt),
          }));
          emit(ctx.options, { credentials: list }, () =>
            list.length === 0
              ? 'no broker credentials stored'
              : [
                  'accountId\tbroker\tenvironment\tkind\tkeyId\taccessExpiresAt\trefreshExpiresAt',
                  ...list.map((c) =>
                    [
                      c.accountId,
                      c.broker,
                      c.environment,
                      c.kind,
                      c.keyId,
                      c.accessExpiresAt ?? '-',
                      c.refreshExpiresAt ?? '-',
                    ].join('\t'),
                  ),
                ].join('\n'),
          );
        } finally {
          await dataSource.destroy();
        }
      }),
    );
  return credentials;
}
