import { Command, Option } from 'commander';
import { DevIssuer } from '../../auth/dev-issuer.js';
import { ENVIRONMENTS, type Environment, ROLES, type Role } from '../../auth/principal.js';
import { openDatabase } from '../../database/data-source.js';
import { CliError, emit, EXIT_UNAVAILABLE } from '../cli-io.js';
import { action } from '../cli-context.js';

interface TokenOptions {
  sub: string;
  role: Role[];
  account: string[];
  environment: Environment[];
  ttl?: number;
}

/**
 * `token --sub <name> --role <role> [--account <accountId|*>] [--environment paper live]` prints an
 * access token of the dev issuer (API.md "Auth"), signed with the keys the gateway keeps in PostgreSQL.
 * Development only: a deployment with a real OIDC issuer refuses these tokens.
 */
export function tokenCommand(): Command {
  return new Command('token')
    .description('Print a dev-issuer access token')
    .requiredOption('--sub <subject>', 'the subject (user or client) the token is for')
    .addOption(new Option('--role <role...>', 'role(s)').choices([...ROLES]).default(['trader']))
    .option('--account <id...>', 'account id(s) granted, or * for every account', ['*'])
    .addOption(
      new Option('--environment <env...>', 'environment(s) granted; live must be asked for')
        .choices([...ENVIRONMENTS])
        .default(['paper']),
    )
    .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10))
    .action(
      action(async (ctx, opts: TokenOptions) => {
        const dataSource = await openDatabase(ctx.config.databaseUrl).catch((error: unknown) => {
          throw new CliError(
            `PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`,
            EXIT_UNAVAILABLE,
          );
        });
        try {
          const issuer = await DevIssuer.load(dataSource, ctx.config.auth.issuer, ctx.config.auth.audience);
          const ttlSeconds = opts.ttl ?? ctx.config.auth.devTokenTtlSeconds;
          const token = await issuer.sign({
            subject: opts.sub,
            roles: opts.role,
            accounts: opts.account,
            environments: opts.environment,
            ttlSeconds,
          });
          emit(ctx.options, { token, subject: opts.sub, roles: opts.role, expiresInSeconds: ttlSeconds }, token);
        } finally {
          await dataSource.destroy();
        }
      }),
    );
}
