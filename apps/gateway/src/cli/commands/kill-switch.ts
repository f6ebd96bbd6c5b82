import { Command, Option } from 'commander';
import { CliError, emit } from '../cli-io.js';
import { action } from '../cli-context.js';

interface KillSwitchOptions {
  scope: 'global' | 'account';
  account?: string;
  reason: string;
}

/** The body of `POST|DELETE /v1/kill-switch` from the options; `--account` goes with scope `account` only. */
function body(opts: KillSwitchOptions): Record<string, string> {
  if ((opts.scope === 'account') !== (opts.account !== undefined)) {
    throw new CliError('--account <id> is required with --scope account, and not allowed with --scope global');
  }
  return { scope: opts.scope, ...(opts.account ? { accountId: opts.account } : {}), reason: opts.reason };
}

function withScope(command: Command): Command {
  return command
    .addOption(new Option('--scope <scope>', 'global or account').choices(['global', 'account']).makeOptionMandatory())
    .option('--account <id>', 'the account, with --scope account')
    .requiredOption('--reason <text>', 'why (recorded with the change)');
}

/** `kill-switch on|off`: `POST /v1/kill-switch` (halt, cancel working orders) and `DELETE` (re-arm). */
export function killSwitchCommand(): Command {
  const killSwitch = new Command('kill-switch').description('Halt or re-arm trading');
  withScope(
    killSwitch.command('on').description('Halt new entries and cancel working orders (POST /v1/kill-switch)'),
  ).action(
    action(async (ctx, opts: KillSwitchOptions) => {
      const state = await ctx.api.call<{ state: string }>('POST', '/v1/kill-switch', body(opts));
      emit(
        ctx.options,
        state,
        `kill switch on (${opts.scope}${opts.account ? ` ${opts.account}` : ''}): ${state.state}`,
      );
    }),
  );
  withScope(
    killSwitch.command('off').description('Re-arm the scope to its state before the halt (DELETE /v1/kill-switch)'),
  ).action(
    action(async (ctx, opts: KillSwitchOptions) => {
      const state = await ctx.api.call<{ state: string }>('DELETE', '/v1/kill-switch', body(opts));
      emit(
        ctx.options,
        state,
        `kill switch off (${opts.scope}${opts.account ? ` ${opts.account}` : ''}): ${state.state}`,
      );
    }),
  );
  return killSwitch;
}
