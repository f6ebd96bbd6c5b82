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
import {
  KEY_ROTATION_DEDUPLICATION_ID,
  KEY_ROTATION_JOB,
  KEY_ROTATION_QUEUE,
  type KeyRotationJobData,
  type KeyRotationJobProgress,
  type KeyRotationJobResult,
} from '../../credentials/key-rotation.jobs.js';
import { createDataSource } from '../../database/data-source.js';
import { JobClient } from '../../jobs/job-client.js';
import { CliError, emit, EXIT_FAILED, EXIT_UNAVAILABLE, Progress } from '../cli-io.js';
import { action, type CliContext } from '../cli-context.js';
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
 * it completed and 500 when it did not (with `code`), or the status given (202: handed to a job).
 */
export async function auditCliChange(
  dataSource: DataSource,
  entry: {
    route: string;
    action: string;
    target: Record<string, string>;
    completed: boolean;
    code?: string;
    /** Instead of 200/500: 202 for work handed to a job. */
    status?: number;
  },
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
      status: entry.status ?? (entry.completed ? 200 : 500),
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

/** `keys rotate --in-process`: KeyRotation in this process, against the database and the key provider. */
async function rotateInProcess(ctx: CliContext, opts: { to?: string; batchSize: number }): Promise<void> {
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
}

/** How often `keys rotate` reads its job back while following it. */
const FOLLOW_POLL_MS = 100;
/** After this long waiting for a worker, `keys rotate` says so (once) and waits on. */
const WAITING_NOTICE_MS = 5_000;

/**
 * `keys rotate`: a job of the `key-rotation` queue (KeyRotationJobs, run by a gateway's worker),
 * audited when enqueued (202, the job's id), then followed to its end with its progress. One rotation at
 * a time: while one is queued or running, another `keys rotate` follows that one. Killing the CLI leaves
 * the job running; killing the gateway running it hands it to the next worker once its lock lapses.
 */
async function rotateQueued(
  ctx: CliContext,
  opts: { to?: string; batchSize: number; detach?: boolean },
): Promise<void> {
  const jobs = await JobClient.open(ctx.config).catch((error: unknown) => {
    throw new CliError(
      `${(error as Error).message}; or run keys rotate --in-process`,
      EXIT_UNAVAILABLE,
      'jobs.unavailable',
    );
  });
  try {
    if ((await jobs.workers(KEY_ROTATION_QUEUE)) === 0) {
      throw new CliError(
        `no gateway runs the key-rotation queue's workers (REDIS_URL, REDIS_PREFIX ${ctx.config.redisPrefix}): ` +
          'start the gateway, or run keys rotate --in-process',
        EXIT_UNAVAILABLE,
        'jobs.no_worker',
      );
    }
    const data: KeyRotationJobData = {
      ...(opts.to === undefined ? {} : { requestedKeyId: opts.to }),
      batchSize: opts.batchSize,
    };
    const jobId = await jobs.enqueue(KEY_ROTATION_QUEUE, KEY_ROTATION_JOB, data, {
      deduplicationId: KEY_ROTATION_DEDUPLICATION_ID,
    });
    const dataSource = await createDataSource(ctx.config.databaseUrl)
      .initialize()
      .catch((error: unknown) => {
        throw new CliError(`PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`, EXIT_UNAVAILABLE);
      });
    try {
      await auditCliChange(dataSource, {
        route: 'keys rotate',
        action: 'keys.rotate',
        target: { jobId, ...(opts.to === undefined ? {} : { toKeyId: opts.to }) },
        completed: true,
        status: 202,
      });
    } finally {
      await dataSource.destroy();
    }
    const queued = await jobs.get<KeyRotationJobData, KeyRotationJobResult>(KEY_ROTATION_QUEUE, jobId);
    if (queued && (queued.data.requestedKeyId ?? null) !== (data.requestedKeyId ?? null)) {
      process.stderr.write(
        `gateway: a key rotation is already queued or running (job ${jobId}, to ${queued.data.requestedKeyId ?? 'the default key'}): following it\n`,
      );
    }
    if (opts.detach) {
      emit(ctx.options, { jobId }, `queued key rotation job ${jobId} (GET /v1/ops/jobs shows the queue)`);
      return;
    }
    const result = await follow(ctx, jobs, jobId);
    emit(ctx.options, { jobId, ...result }, summary(result));
  } finally {
    await jobs.close();
  }
}

/** Reads the job back until it is finished, showing its progress; its result, or CliError when it failed. */
async function follow(ctx: CliContext, jobs: JobClient, jobId: string): Promise<KeyRotationJobResult> {
  const progress = new Progress(ctx.options, 'keys rotate');
  const since = Date.now();
  let noticed = false;
  let shown = '';
  try {
    for (;;) {
      const job = await jobs
        .get<KeyRotationJobData, KeyRotationJobResult>(KEY_ROTATION_QUEUE, jobId)
        .catch(() => undefined);
      if (job === null) {
        throw new CliError(`key rotation job ${jobId} is no longer in Redis`, EXIT_UNAVAILABLE, 'jobs.job_gone');
      }
      const current = job?.progress as KeyRotationJobProgress | undefined;
      if (job && current && typeof current === 'object' && typeof current.done === 'number') {
        const line = JSON.stringify(current);
        if (line !== shown) {
          shown = line;
          const {
            done,
            total,
            failures: _failures,
            ...counts
          } = current as KeyRotationJobProgress & {
            failures?: unknown;
          };
          progress.update(done, total, { jobId, attempt: job.attemptsStarted, ...counts });
        }
      }
      if (job?.state === 'completed' && job.result) {
        return job.result;
      }
      if (job?.state === 'failed') {
        const failures = (current as Partial<KeyRotationJobResult> | undefined)?.failures ?? [];
        throw new CliError(
          `key rotation job ${jobId} failed: ${job.failedReason ?? 'unknown reason'}`,
          EXIT_FAILED,
          'keys.rotation_failed',
          { jobId, failures },
        );
      }
      if (!noticed && job?.state === 'waiting' && Date.now() - since > WAITING_NOTICE_MS) {
        noticed = true;
        process.stderr.write(`gateway: key rotation job ${jobId} is waiting for a gateway's worker\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
  } finally {
    progress.stop();
  }
}

/**
 * `keys rotate [--to <keyId>]` re-wraps every broker credential's data key under a new key (KeyRotation:
 * AWS KMS ReEncrypt, or a new local master key), with a progress bar: by default as a job of the gateways'
 * `key-rotation` queue that it enqueues and follows, with `--in-process` in this process; either is safe
 * to kill and run again (it finishes what an earlier run left). `keys status` counts the credentials under each key; `keys retire`
 * drops a local master key nothing is under any more.
 */
export function keysCommand(): Command {
  const keys = new Command('keys').description("The keys broker credentials' data keys are wrapped under");
  keys
    .command('rotate')
    .description("Re-wrap every data key under a new key: a job of the gateways' key-rotation queue, followed")
    .option(
      '--to <keyId>',
      'the key to re-wrap under (default: KMS_KEY_ID as it resolves now, or a new local master key)',
    )
    .option('--batch-size <n>', 'credentials read per batch', positive, 100)
    .option('--in-process', 'run the rotation in this process, without a gateway (no job, no Redis needed)')
    .option('--detach', 'enqueue the job and print its id without following it')
    .action(
      action(async (ctx, opts: { to?: string; batchSize: number; inProcess?: boolean; detach?: boolean }) => {
        if (opts.inProcess) {
          await rotateInProcess(ctx, opts);
        } else {
          await rotateQueued(ctx, opts);
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
