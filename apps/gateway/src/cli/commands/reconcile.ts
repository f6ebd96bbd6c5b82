import { Command } from 'commander';
import { emit } from '../cli-io.js';
import { action } from '../cli-context.js';

interface Reconciliation {
  orders: { orderId: string; actions: { kind: string }[] }[];
}

/** `reconcile <accountId>`: the account reconciliation pass now (`POST /v1/accounts/{id}/reconcile`). */
export function reconcileCommand(): Command {
  return new Command('reconcile')
    .description("Reconcile an account's orders and executions against its broker now")
    .argument('<accountId>')
    .action(
      action(async (ctx, accountId: string) => {
        const result = await ctx.api.call<Reconciliation>(
          'POST',
          `/v1/accounts/${encodeURIComponent(accountId)}/reconcile`,
        );
        emit(ctx.options, result, () =>
          result.orders.length === 0
            ? `account ${accountId}: nothing to correct`
            : [
                `account ${accountId}: ${result.orders.length} order(s) corrected`,
                ...result.orders.map((o) => `  ${o.orderId}: ${o.actions.map((a) => a.kind).join(', ')}`),
              ].join('\n'),
        );
      }),
    );
}
