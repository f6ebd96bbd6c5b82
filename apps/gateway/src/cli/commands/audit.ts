import { Command } from 'commander';
import type { ChainAnchor } from '../../audit/audit-chain.js';
import { verifyAuditLog } from '../../audit/audit-log.repository.js';
import { createDataSource } from '../../database/data-source.js';
import { CliError, emit, EXIT_FAILED, EXIT_UNAVAILABLE } from '../cli-io.js';
import { action } from '../cli-context.js';

function parseAnchor(value: string): ChainAnchor {
  const match = /^([1-9][0-9]*):([0-9a-f]{64})$/.exec(value.trim());
  if (!match) {
    throw new Error(`--anchor must be <seq>:<64 hex digits>, not "${value}"`);
  }
  return { seq: BigInt(match[1]!).toString(), hash: match[2]! };
}

/**
 * `audit verify [--anchor <seq>:<hash>]` walks the audit log of DATABASE_URL from its first row,
 * recomputes every hash of every chain (the legacy chain, then one per partition) and prints one line.
 * Exit 0: intact; 1: broken (the first broken link: an edited row, a deleted, inserted or reordered row, a
 * partition that does not end at the head the database keeps, or a log that does not match the anchor);
 * 2: could not check (no database). It holds the log's writers off for an instant, to read the partition
 * heads and the greatest seq with no write under way, and checks the rows up to that seq.
 *
 * The printed head `seq:hash` is the head digest of every chain at that seq (the row's own hash while the
 * log holds only rows from before the partitions). Rows removed from a partition's end, with the kept
 * head moved back to match, or a tail rewritten with recomputed hashes, can only be detected against it:
 * keep it somewhere the database's writers cannot change, and pass it back as `--anchor`.
 */
export function auditCommand(): Command {
  const audit = new Command('audit').description('The audit log');
  audit
    .command('verify')
    .description('Verify the audit log hash chain')
    .option('--anchor <seq:hash>', 'a head seq and hash recorded earlier, outside the database', parseAnchor)
    .action(
      action(async (ctx, opts: { anchor?: ChainAnchor }) => {
        // Only reads: no migrations, no other start-up.
        const dataSource = createDataSource(ctx.config.databaseUrl);
        await dataSource.initialize().catch((error: unknown) => {
          throw new CliError(
            `PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`,
            EXIT_UNAVAILABLE,
          );
        });
        try {
          const result = await verifyAuditLog(dataSource, opts.anchor);
          if (!result.ok) {
            // A broken chain is the command's answer (stdout), with exit status 1.
            emit(
              ctx.options,
              { intact: false, break: result.break, verified: result.count },
              `audit log BROKEN at seq ${result.break.seq} (${result.break.kind}): ${result.break.reason}; ` +
                `${result.count} entries verified before it`,
            );
            process.exitCode = EXIT_FAILED;
            return;
          }
          const head = result.head ? `head ${result.head.seq}:${result.head.hash}` : 'no entries yet';
          emit(
            ctx.options,
            {
              intact: true,
              entries: result.count,
              head: result.head ?? null,
              anchorMatches: opts.anchor ? true : null,
            },
            `audit log intact: ${result.count} entries${opts.anchor ? `, anchor seq ${opts.anchor.seq} matches` : ''}; ${head} ` +
              '(record the head outside the database and pass it as --anchor: without one, rows deleted from the end cannot be detected)',
          );
        } finally {
          await dataSource.destroy();
        }
      }),
    );
  return audit;
}
