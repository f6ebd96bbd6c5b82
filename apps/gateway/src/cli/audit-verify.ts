import { Command } from 'commander';
import type { ChainAnchor } from '../audit/audit-chain.js';
import { verifyAuditLog } from '../audit/audit-log.repository.js';
import { loadConfig } from '../config/config.js';
import { createDataSource } from '../database/data-source.js';

/**
 * `npm run audit:verify [-- --anchor <seq>:<hash>]` walks the audit log of DATABASE_URL from its first
 * row, recomputes every hash of every chain (the legacy chain, then one per partition) and prints one line.
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
function parseAnchor(value: string): ChainAnchor {
  const match = /^([1-9][0-9]*):([0-9a-f]{64})$/.exec(value.trim());
  if (!match) {
    throw new Error(`--anchor must be <seq>:<64 hex digits>, not "${value}"`);
  }
  return { seq: BigInt(match[1]!).toString(), hash: match[2]! };
}

const program = new Command('audit:verify')
  .description('Verify the audit log hash chain')
  .option('--anchor <seq:hash>', 'a head seq and hash recorded earlier, outside the database', parseAnchor)
  .action(async (opts: { anchor?: ChainAnchor }) => {
    const config = loadConfig();
    // Only reads: no migrations, no other start-up.
    const dataSource = createDataSource(config.databaseUrl);
    await dataSource.initialize();
    try {
      const result = await verifyAuditLog(dataSource, opts.anchor);
      if (!result.ok) {
        process.stdout.write(
          `audit log BROKEN at seq ${result.break.seq} (${result.break.kind}): ${result.break.reason}; ` +
            `${result.count} entries verified before it\n`,
        );
        process.exitCode = 1;
        return;
      }
      const head = result.head ? `head ${result.head.seq}:${result.head.hash}` : 'no entries yet';
      process.stdout.write(
        `audit log intact: ${result.count} entries${opts.anchor ? `, anchor seq ${opts.anchor.seq} matches` : ''}; ${head} ` +
          '(record the head outside the database and pass it as --anchor: without one, rows deleted from the end cannot be detected)\n',
      );
    } finally {
      await dataSource.destroy();
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`audit:verify: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
