import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import type { DataSource } from 'typeorm';
import { chainTime } from '../../audit/audit-chain.js';
import { AuditLogRepository } from '../../audit/audit-log.repository.js';
import type { GatewayConfig } from '../../config/config.js';
import { BrokerCredentialRepository } from '../../credentials/broker-credential.repository.js';
import type { KeyProvider } from '../../credentials/key-provider.js';
import { openKeyProvider } from '../../credentials/key-providers.js';
import { KeyRotation, type RotationResult } from '../../credentials/key-rotation.js';
import { createDataSource } from '../../database/data-source.js';
import { CliError, emit, EXIT_FAILED, EXIT_UNAVAILABLE, Progress } from '../cli-io.js';
import { action } from '../cli-context.js';
import { cliSubject } from '../gateway-api.js';

/** The database (broker_credentials, audit_log; no migrations run) and the configured key provider. */
export async function openCredentialStore(
  config: GatewayConfig,
): Promise<{ dataSource: DataSource; keys: KeyProvider; close(): Promise<void> }> {
  const dataSource = await createDataSource(config.databaseUrl)
    .initialize()
    .catch((error: unknown) => {
      throw new CliError(`PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`, EXIT_UNAVAILABLE);
    });
  const keys = await openKeyProvider(config.credentials).catch(async (error: unknown) => {
    await dataSource.destroy();
    throw new CliError(`the key provider could not be opened: ${(error as Error).message}`, EXIT_UNAVAILABLE);
  });
  return {
    dataSource,
    keys,
    close: async () => {
      await keys.close();
      await dataSource.destroy();
    },
  };
}

/**
 * Records a CLI command that changes something without going through a REST route, in the audit log as
 * a route would be: method `CLI`, the command as route, `action`, subject `cli:<user>`, status 200 when
 * it completed and 500 when it did not (with `code`).
 */
export async function auditCliChange(
  dataSource: DataSource,
  entry: { route: string; action: string; target: Record<string, string>; completed: boolean; code?: string },
): Promise<void> {
  await new AuditLogRepository(dataSource).append([
    {
      occurredAt: chainTime(Date.now()),
      kind: 'change',
      requestId: randomUUID(),
      subject: cliSubject(),
      clientId: 'gateway-cli',
      method: 'CLI',
      route: entry.route,
      action: entry.action,
      accountId: null,
      environment: null,
      target: entry.target,
      status: entry.completed ? 200 : 500,
      code: entry.code ?? null,
    },
  ]);
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError('a positive integer');
  }
  return n;
}

function summary(result: RotationResult): string {
  const lines = [
    `re-wrapped ${result.rewrapped} of ${result.total} credential(s) under ${result.toKeyId}` +
      ` (${result.alreadyDone} already under it, ${result.skipped} of environments not served here, ${result.failed} failed)`,
    ...result.failures.map((f) => `  failed: account ${f.accountId}: ${f.code}`),
  ];
  return lines.join('\n');
}

/**
 * `keys rotate [--to <keyId>]` re-wraps every broker credential's data key under a new key (KeyRotation:
 * AWS KMS ReEncrypt, or a new local master key), with a progress bar; safe to kill and run again (it
 * finishes what an earlier run left). `keys status` counts the credentials under each key; `keys retire`
 * drops a local master key nothing is under any more.
 */
export function keysCommand(): Command {
  const keys = new Command('keys').description("The keys broker credentials' data keys are wrapped under");
  keys
    .command('rotate')
    .description('Re-wrap every data key under a new key (resumable)')
    .option(
      '--to <keyId>',
      'the key to re-wrap under (default: KMS_KEY_ID as it resolves now, or a new local master key)',
    )
    .option('--batch-size <n>', 'credentials read per batch', positive, 100)
    .action(
      action(async (ctx, opts: { to?: string; batchSize: number }) => {
        const store = await openCredentialStore(ctx.config);
        const progress = new Progress(ctx.options, 'keys rotate');
        try {
          const rotation = new KeyRotation(new BrokerCredentialRepository(store.dataSource), store.keys, ctx.config);
          const result = await rotation.rotate({
            ...(opts.to === undefined ? {} : { toKeyId: opts.to }),
            batchSize: opts.batchSize,
            onProgress: ({ done, total, ...counts }) => progress.update(done, total, counts),
          });
          progress.stop();
          await auditCliChange(store.dataSource, {
            route: 'keys rotate',
            action: 'keys.rotate',
            target: { toKeyId: result.toKeyId },
            completed: result.failed === 0,
            ...(result.failed === 0 ? {} : { code: 'keys.rotation_incomplete' }),
          });
          emit(ctx.options, result, summary(result));
          if (result.failed > 0) {
            process.exitCode = EXIT_FAILED;
          }
        } finally {
          progress.stop();
          await store.close();
        }
      }),
    );
  keys
    .command('status')
    .description('The current key and the credentials under each key')
    .action(
      action(async (ctx) => {
        const store = await openCredentialStore(ctx.config);
        try {
          const status = await new KeyRotation(
            new BrokerCredentialRepository(store.dataSource),
            store.keys,
            ctx.config,
          ).status();
          emit(ctx.options, status, () =>
            [
              `provider ${status.keyProvider}, current key ${status.currentKeyId}`,
              ...status.keys.map((k) => `  ${k.keyProvider}\t${k.keyId}\t${k.credentials} credential(s)`),
            ].join('\n'),
          );
        } finally {
          await store.close();
        }
      }),
    );
  keys
    .command('retire')
    .description('Drop a local master key no credential is under any more (after a complete rotation)')
    .argument('<keyId>')
    .action(
      action(async (ctx, keyId: string) => {
        const store = await openCredentialStore(ctx.config);
        try {
          await new KeyRotation(new BrokerCredentialRepository(store.dataSource), store.keys, ctx.config)
            .retireLocalKey(keyId)
            .catch((error: unknown) => {
              throw new CliError((error as Error).message, EXIT_FAILED, 'keys.not_retired');
            });
          await auditCliChange(store.dataSource, {
            route: 'keys retire',
            action: 'keys.retire',
            target: { keyId },
            completed: true,
          });
          emit(ctx.options, { retired: keyId }, `retired local master key ${keyId}`);
        } finally {
          await store.close();
        }
      }),
    );
  return keys;
}
