import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/config.js';
import { createDataSource } from '../database/data-source.js';
import { BrokerCredentialRepository } from './broker-credential.repository.js';
import { KeyRotation } from './key-rotation.js';
import { openKeyProvider } from './key-providers.js';

/**
 * `node dist/apps/gateway/src/credentials/key-rotation.main.js [--to <keyId>] [--batch-size <n>]`
 * re-wraps every broker credential's data key of DATABASE_URL under a new key (KeyRotation), with the
 * configuration the gateway reads (KEY_PROVIDER, KMS_*, LOCAL_MASTER_KEY_FILE), printing one JSON line
 * per credential (`{"event":"progress",...}`) and one at the end (`{"event":"done",...}`). `--status`
 * prints the credentials per key; `--retire <keyId>` drops a local master key nothing is under any more.
 * Safe to kill and run again: a second run finishes what the first left. Exit 0: done; 1: some
 * credentials did not re-wrap (listed, with KMS's code); 2: could not run.
 *
 * The stand-alone entry until the admin CLI's `keys rotate` and the `key-rotation` job call KeyRotation.
 */
function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError('a positive integer');
  }
  return n;
}

const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const program = new Command('key-rotation')
  .description("Re-wrap broker credentials' data keys under a new key")
  .option('--to <keyId>', 'the key to re-wrap under (default: KMS_KEY_ID, or a new local master key)')
  .option('--batch-size <n>', 'rows read per batch', positive, 100)
  .option('--status', 'print the credentials per key, change nothing')
  .option('--retire <keyId>', 'drop a local master key no credential is under')
  .action(async (opts: { to?: string; batchSize: number; status?: boolean; retire?: string }) => {
    const config = loadConfig();
    // Only reads and updates broker_credentials: no migrations, no other start-up.
    const dataSource = await createDataSource(config.databaseUrl).initialize();
    const keys = await openKeyProvider(config.credentials);
    try {
      const rotation = new KeyRotation(new BrokerCredentialRepository(dataSource), keys, config);
      if (opts.status) {
        print({ event: 'status', ...(await rotation.status()) });
        return;
      }
      if (opts.retire !== undefined) {
        await rotation.retireLocalKey(opts.retire);
        print({ event: 'retired', keyId: opts.retire });
        return;
      }
      const result = await rotation.rotate({
        ...(opts.to !== undefined ? { toKeyId: opts.to } : {}),
        batchSize: opts.batchSize,
        onProgress: (progress) => print({ event: 'progress', ...progress }),
      });
      print({ event: 'done', ...result });
      process.exitCode = result.failed > 0 ? 1 : 0;
    } finally {
      await keys.close();
      await dataSource.destroy();
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`key-rotation: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
