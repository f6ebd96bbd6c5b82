import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { type JobContext, JobQueues } from '../jobs/job-queues.js';
import { KeyProviderError } from './key-provider.js';
import { KeyRotation, type RotationProgress, type RotationResult } from './key-rotation.js';

/** The queue, the name of its one kind of job, and the deduplication id that keeps one rotation at a time. */
export const KEY_ROTATION_QUEUE = 'key-rotation';
export const KEY_ROTATION_JOB = 'rotate';
export const KEY_ROTATION_DEDUPLICATION_ID = 'key-rotation';

/** The data of a `key-rotation` job: what was asked, and what its first attempt settled. */
export interface KeyRotationJobData {
  /** `keys rotate --to`: the key to re-wrap under; unset for the default (KeyRotation.target). */
  readonly requestedKeyId?: string;
  /** Rows read per batch. */
  readonly batchSize?: number;
  /** Set by the first attempt: the key resolved, which later attempts re-wrap under too. */
  readonly toKeyId?: string;
  /** Set by the first attempt: the credentials not under `toKeyId` when the rotation started. */
  readonly total?: number;
}

/**
 * The job's progress (`job.progress`), after each credential (at most every PROGRESS_INTERVAL_MS, and
 * the last): `done` of `total` over all attempts (`total` minus what is still under an old key); the
 * counts are this attempt's, `resumed` is how many were handled by attempts before it.
 */
export interface KeyRotationJobProgress extends RotationProgress {
  readonly resumed: number;
}

/** The job's result: the attempt that finished (its counts), with `resumed` and the overall `total`. */
export interface KeyRotationJobResult extends RotationResult {
  readonly resumed: number;
}

/** Least time between two progress updates in Redis (the last one always goes). */
const PROGRESS_INTERVAL_MS = 50;

/**
 * The `key-rotation` queue's processor on every gateway instance (README, "Broker credentials and key
 * providers"): a job re-wraps every stored data key under one key with KeyRotation, which is idempotent
 * and resumable (each row's update is conditional on the wrapped key read). The first attempt resolves
 * the target key (for `local`, possibly making a new master key) and writes it into the job's data, so
 * that a retry (KMS unreachable: retried with back-off) or the job taken over after its instance died
 * (a stalled job, once its lock lapses) goes on under the same key and re-wraps only what is left.
 * Credentials whose data key does not unwrap fail the job for good (no retry: KMS answered), with the
 * accounts and KMS's codes in the last progress.
 */
@Injectable()
export class KeyRotationJobs implements OnApplicationBootstrap {
  constructor(
    private readonly rotation: KeyRotation,
    private readonly jobs: JobQueues,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.process<KeyRotationJobData, KeyRotationJobResult>(KEY_ROTATION_QUEUE, (job) => this.run(job));
  }

  private async run(job: JobContext<KeyRotationJobData>): Promise<KeyRotationJobResult> {
    let data = job.data;
    if (data.toKeyId === undefined) {
      const toKeyId = await this.rotation.target(data.requestedKeyId).catch((error: unknown) => {
        // KMS answered (no such key, disabled, not allowed): trying again changes nothing.
        if (error instanceof KeyProviderError && error.code !== 'KMSUnavailable') {
          throw new UnrecoverableError(`the target key does not resolve: ${error.code}: ${error.message}`);
        }
        throw error;
      });
      const status = await this.rotation.status();
      const total = status.keys
        .filter((k) => k.keyProvider === status.keyProvider && k.keyId !== toKeyId)
        .reduce((sum, k) => sum + k.credentials, 0);
      data = { ...data, toKeyId, total };
      await job.updateData(data);
    }
    const overall = data.total ?? 0;
    let last = 0;
    let resumed = 0;
    const publish = (progress: KeyRotationJobProgress, force: boolean): void => {
      const now = Date.now();
      if (force || now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        // Progress is for the followers: an update lost (Redis blinking) is not worth failing the rotation.
        void job.updateProgress(progress).catch(() => undefined);
      }
    };
    this.logger.info({ jobId: job.id, attempt: job.attempt, toKeyId: data.toKeyId }, 'key rotation started');
    const result = await this.rotation.rotate({
      toKeyId: data.toKeyId,
      ...(data.batchSize === undefined ? {} : { batchSize: data.batchSize }),
      onProgress: (p) => {
        resumed = Math.max(0, overall - p.total);
        publish({ ...p, total: overall, done: resumed + p.done, resumed }, p.done === p.total);
      },
    });
    resumed = Math.max(0, overall - result.total);
    const final: KeyRotationJobResult = { ...result, total: overall, done: resumed + result.done, resumed };
    await job.updateProgress(final).catch(() => undefined);
    this.logger.info(
      {
        jobId: job.id,
        toKeyId: result.toKeyId,
        rewrapped: result.rewrapped,
        alreadyDone: result.alreadyDone,
        failed: result.failed,
        skipped: result.skipped,
        resumed,
      },
      'key rotation finished',
    );
    if (result.failed > 0) {
      const first = result.failures
        .slice(0, 3)
        .map((f) => `${f.accountId}: ${f.code}`)
        .join(', ');
      throw new UnrecoverableError(
        `${result.failed} credential(s) did not re-wrap under ${result.toKeyId} and stay under their old key (${first})`,
      );
    }
    return final;
  }
}
