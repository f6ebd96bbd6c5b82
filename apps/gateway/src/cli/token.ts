import { Command, Option } from 'commander';
import { DevIssuer } from '../auth/dev-issuer.js';
import { ENVIRONMENTS, type Environment, ROLES, type Role } from '../auth/principal.js';
import { loadConfig } from '../config/config.js';
import { openDatabase } from '../database/data-source.js';

/**
 * `npm run token -- --sub <name> --role <role> [--account <accountId|*>] [--environment paper live]` prints an access token of the
 * dev issuer (API.md "Auth"). Development only: a deployment with a real OIDC issuer does not use it.
 */
const program = new Command('token')
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
  .action(async (opts: { sub: string; role: Role[]; account: string[]; environment: Environment[]; ttl?: number }) => {
    const config = loadConfig();
    const dataSource = await openDatabase(config.databaseUrl);
    try {
      const issuer = await DevIssuer.load(dataSource, config.auth.issuer, config.auth.audience);
      const token = await issuer.sign({
        subject: opts.sub,
        roles: opts.role,
        accounts: opts.account,
        environments: opts.environment,
        ttlSeconds: opts.ttl ?? config.auth.devTokenTtlSeconds,
      });
      process.stdout.write(`${token}\n`);
    } finally {
      await dataSource.destroy();
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
