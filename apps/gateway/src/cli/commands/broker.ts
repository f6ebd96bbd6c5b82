import { Command, Option } from 'commander';
import { emit } from '../cli-io.js';
import { action } from '../cli-context.js';

interface Connection {
  status: string;
  accessExpiresAt: string | null;
  refreshExpiresAt: string | null;
  lastRefreshAt?: string | null;
  lastRefreshOutcome?: string | null;
}

interface AccountDto {
  id: string;
  name: string;
  broker: string;
  environment: string;
  brokerConnection: Connection | null;
}

function describe(accountId: string, c: Connection | null): string {
  if (!c) {
    return `${accountId}\tno broker connection`;
  }
  return [
    accountId,
    c.status,
    `access until ${c.accessExpiresAt ?? '-'}`,
    `refresh until ${c.refreshExpiresAt ?? '-'}`,
    ...(c.lastRefreshAt === undefined ? [] : [`last refresh ${c.lastRefreshAt ?? '-'} ${c.lastRefreshOutcome ?? ''}`]),
  ].join('\t');
}

/**
 * `broker connect <accountId>` prints the broker's authorize URL to open in a browser
 * (`POST /v1/accounts/{id}/broker-connection`); `broker status [accountId]` shows one connection
 * (`GET …/broker-connection`) or every account's (`GET /v1/accounts`).
 */
export function brokerCommand(): Command {
  const broker = new Command('broker').description('Connect accounts to their broker (OAuth) and show the connections');
  broker
    .command('connect')
    .description("Start the broker's OAuth authorization: prints the URL to open")
    .argument('<accountId>')
    .option('--redirect-uri <uri>', 'where the broker sends the browser back (default: the configured callback)')
    .action(
      action(async (ctx, accountId: string, opts: { redirectUri?: string }) => {
        const started = await ctx.api.call<{ authorizeUrl: string; state: string; expiresAt: string }>(
          'POST',
          `/v1/accounts/${encodeURIComponent(accountId)}/broker-connection`,
          opts.redirectUri === undefined ? {} : { redirectUri: opts.redirectUri },
        );
        emit(
          ctx.options,
          started,
          `open this URL to authorize the gateway at the broker (valid until ${started.expiresAt}):\n${started.authorizeUrl}`,
        );
      }),
    );
  broker
    .command('status')
    .description('The broker connection of one account, or of every account')
    .argument('[accountId]')
    .addOption(new Option('--all', 'also accounts without a connection').default(false))
    .action(
      action(async (ctx, accountId: string | undefined, opts: { all: boolean }) => {
        if (accountId !== undefined) {
          const connection = await ctx.api.call<Connection>(
            'GET',
            `/v1/accounts/${encodeURIComponent(accountId)}/broker-connection`,
          );
          emit(ctx.options, { accountId, ...connection }, describe(accountId, connection));
          return;
        }
        const accounts = (await ctx.api.call<AccountDto[]>('GET', '/v1/accounts')).filter(
          (a) => opts.all || a.brokerConnection,
        );
        emit(
          ctx.options,
          { connections: accounts.map((a) => ({ accountId: a.id, broker: a.broker, connection: a.brokerConnection })) },
          () =>
            accounts.length === 0
              ? 'no broker connections'
              : accounts.map((a) => describe(a.id, a.brokerConnection)).join('\n'),
        );
      }),
    );
  return broker;
}
