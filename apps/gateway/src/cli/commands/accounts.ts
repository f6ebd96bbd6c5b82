import { Command, Option } from 'commander';
import { emit } from '../cli-io.js';
import { action } from '../cli-context.js';

interface AccountDto {
  id: string;
  name: string;
  broker: string;
  environment: string;
  tradingState?: string;
  brokerConnection?: { status: string } | null;
}

function line(a: AccountDto): string {
  return [a.id, a.name, a.broker, a.environment, a.tradingState ?? '', a.brokerConnection?.status ?? '-'].join('\t');
}

/** `accounts create|list`: `POST /v1/accounts` and `GET /v1/accounts`. */
export function accountsCommand(): Command {
  const accounts = new Command('accounts').description('Create and list accounts');
  accounts
    .command('create')
    .description('Create an account (POST /v1/accounts; admin with every account)')
    .requiredOption('--name <name>', 'unique account name')
    .requiredOption('--broker <broker>', 'the broker the account trades at (paper, alpaca, schwab...)')
    .addOption(new Option('--environment <env>', 'paper or live').choices(['paper', 'live']).default('paper'))
    .option('--broker-account-id <id>', "the account's number at the broker")
    .action(
      action(async (ctx, opts: { name: string; broker: string; environment: string; brokerAccountId?: string }) => {
        const created = await ctx.api.call<AccountDto>('POST', '/v1/accounts', {
          name: opts.name,
          broker: opts.broker,
          environment: opts.environment,
          ...(opts.brokerAccountId === undefined ? {} : { brokerAccountId: opts.brokerAccountId }),
        });
        emit(ctx.options, created, `created ${line(created)}`);
      }),
    );
  accounts
    .command('list')
    .description('List the accounts (GET /v1/accounts)')
    .action(
      action(async (ctx) => {
        const list = await ctx.api.call<AccountDto[]>('GET', '/v1/accounts');
        emit(ctx.options, { accounts: list }, () =>
          ['id\tname\tbroker\tenvironment\ttradingState\tbrokerConnection', ...list.map(line)].join('\n'),
        );
      }),
    );
  return accounts;
}
