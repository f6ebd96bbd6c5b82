#!/usr/bin/env node
import { Command } from 'commander';
import { accountsCommand } from './commands/accounts.js';
import { auditCommand } from './commands/audit.js';
import { brokerCommand } from './commands/broker.js';
import { credentialsCommand } from './commands/credentials.js';
import { keysCommand } from './commands/keys.js';
import { killSwitchCommand } from './commands/kill-switch.js';
import { migrateCommand } from './commands/migrate.js';
import { reconcileCommand } from './commands/reconcile.js';
import { tokenCommand } from './commands/token.js';

/**
 * The admin CLI, `gateway <command>` (`npm run cli -- <command>`). It reads the configuration the server
 * reads (the same environment variables). Commands that mirror a REST route call the running gateway
 * (`--url`, GATEWAY_URL, default http://127.0.0.1:$PORT), so they are authorised, validated and audited
 * as the route is; the rest work on the database directly. `--json` on every command; exit 0 done,
 * 1 failed or refused, 2 could not run (cli-io.ts).
 */
function cliProgram(): Command {
  return new Command('gateway')
    .description('Execution gateway administration')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('--url <url>', 'the gateway to call (default GATEWAY_URL, else http://127.0.0.1:$PORT)')
    .option('--token <token>', 'bearer token (default GATEWAY_TOKEN, else a short-lived dev-issuer admin token)')
    .showHelpAfterError()
    .addCommand(accountsCommand())
    .addCommand(brokerCommand())
    .addCommand(credentialsCommand())
    .addCommand(keysCommand())
    .addCommand(killSwitchCommand())
    .addCommand(migrateCommand())
    .addCommand(reconcileCommand())
    .addCommand(auditCommand())
    .addCommand(tokenCommand());
}

/** Usage errors (unknown command, missing option) exit 2 after commander's message; --help 0. */
function exitOnUsageError(command: Command): Command {
  command.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  command.commands.forEach(exitOnUsageError);
  return command;
}

await exitOnUsageError(cliProgram()).parseAsync();
