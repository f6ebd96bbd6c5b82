import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Job, type JobsOptions, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { createBlockingRedis, REDIS } from '../redis/redis.provider.js';
import { safeFailureReason } from './job-failure.js';

/** The gateway's queues. Jobs that concern an account carry it with its environment (AccountJobData). */
export const QUEUE_NAMES = ['reconciliation', 'token-refresh', 'key-rotation'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The data of a job about one account: the account and the environment it trades in. */
export interface AccountJobData {
  readonly accountId: string;
  readonly environment: 'paper' | 'live';
}

/** What a processor is handed: the job's id, name, data and attempt (1 for the first). */
export interface JobContext<T> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  readonly attempt: number;
  /**
   * The job's progress as a JSON object, kept with the job (`job.progress`) and published to its
   * followers (BullMQ `updateProgress`). Never put a secret in it.
   */
  updateProgress(progress: object): Promise<void>;
  /** Replaces the job's data in Redis, so that a later attempt (a retry, a stalled job taken over) starts from it. */
  updateData(data: T): Promise<void>;
}

/** A job as a follower sees it (JobClient.get): its state, data, progress, and result or failure reason. */
export interface JobSnapshot<T, R> {
  readonly id: string;
  readonly state: string;
  readonly data: T;
  readonly progress: unknown;
  readonly result: R | null;
  readonly failedReason: string | null;
  /** Attempts made so far (a retry and a stalled job taken over each start another). */
  readonly attemptsStarted: number;
}

export type JobProcessor<T, R> = (job: JobContext<T>) => Promise<R>;

export interface ProcessOptions {
  /** Jobs of this queue one instance runs at once (default 1). */
  readonly concurrency?: number;
}

export interface EnqueueOptions {
  /** A job with this id that still exists is not added again (BullMQ `jobId`). */
  readonly jobId?: string;
  /** While a job with this deduplication id is waiting, delayed or active, another is not added. */
  readonly deduplicationId?: string;
  readonly delayMs?: number;
  /** Tries before the job is failed for good (default 5, with exponential back-off from 1 s). */
  readonly attempts?: number;
}

/** Queue counts and the newest failures, as `GET /v1/ops/jobs` answers them. */
export interface QueueStatus {
  readonly name: QueueName;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly lastFailures: { id: string; reason: string; at: string }[];
}

/** Redis (the queues' store) did not answer in time or is down; nothing was enqueued or read. */
export class JobsUnavailableError extends Error {
  override name = 'JobsUnavailableError';
}

/** A job that ran and failed for good (its reason as kept: see safeFailureReason). */
export class JobFailedError extends Error {
  override name = 'JobFailedError';
}

/** Tries per job by default, with exponential back-off: 1 s, 2 s, 4 s, 8 s between them. */
const DEFAULT_ATTEMPTS = 5;
const BACKOFF_MS = 1_000;
/** Completed jobs kept per queue (the newest), failed ones: enough to see what went wrong, bounded. */
const KEEP_COMPLETED = 100;
const KEEP_FAILED = 500;
/** Longest a producer call waits for Redis before answering JobsUnavailableError (it fails fast anyway). */
const REDIS_TIMEOUT_MS = 3_000;
/** Failures shown per queue by `status()`. */
const LAST_FAILURES = 5;
/** Longest shutdown waits for a worker, the queue events or a queue to close before dropping it. */
const CLOSE_TIMEOUT_MS = 5_000;
/** A connection error repeated within this window is logged once. */
const ERROR_LOG_WINDOW_MS = 10_000;

/**
 * The gateway's BullMQ 6 queues and workers (README, "Jobs and queues"), over its ioredis 5 clients:
 * producers (enqueue, schedules, counts) share the gateway's fail-fast connection (REDIS), so a request
 * never hangs on Redis; each worker and the queue events get a blocking connection of their own
 * (createBlockingRedis), which waits out an outage and carries on. Keys are prefixed with REDIS_PREFIX.
 *
 * Jobs retry with exponential back-off; the newest 500 failed jobs per queue are kept (with their reason,
 * stripped of secrets), the newest 100 completed ones. A worker whose lock lapses (a process killed or
 * stuck for JOBS_LOCK_DURATION_MS) has its job taken over by another instance's worker after at most
 * JOBS_STALLED_INTERVAL_MS more. Other modules register a processor per queue (`process`) and enqueue.
 */
@Injectable()
export class JobQueues implements OnModuleDestroy {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers = new Map<QueueName, { worker: Worker; connection: Redis }>();
  private readonly events = new Map<QueueName, Promise<{ events: QueueEvents; connection: Redis }>>();
  private readonly prefix: string;
  private readonly lastErrorLog = new Map<string, number>();
  private closing = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.prefix = `${config.redisPrefix}bull`;
    // After an outage a queue's connection can stay unwritable although the gateway's is back: the
    // queues are made anew (cheap; their jobs are in Redis), as they are after any failed call while
    // the gateway's connection is up.
    this.onReconnect(() => this.resetQueues());
  }

  private resetQueues(): void {
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const queue of queues) {
      void queue.close().catch(() => undefined);
    }
  }

  /**
   * Runs `processor` for the jobs of `queue` on this instance, from now on. A processor's error fails the
   * attempt (retried with back-off); its message is what the failure shows, with secrets taken out.
   * Throw bullmq's UnrecoverableError to fail the job for good without retries.
   */
  process<T, R>(queue: QueueName, processor: JobProcessor<T, R>, options: ProcessOptions = {}): void {
    if (this.workers.has(queue)) {
      throw new Error(`a processor for the ${queue} queue is registered already`);
    }
    const connection = createBlockingRedis(this.config.redisUrl, `gateway-jobs-${queue}`, (error) =>
      this.logConnectionError(`worker:${queue}`, error),
    );
    const worker = new Worker<T, R>(
      queue,
      async (job: Job<T, R>) => {
        try {
          return await processor({
            id: job.id ?? '',
            name: job.name,
            data: job.data,
            attempt: job.attemptsMade + 1,
            updateProgress: (progress) => job.updateProgress(progress),
            updateData: (data) => job.updateData(data),
          });
        } catch (error) {
          const reason = safeFailureReason(error);
          throw error instanceof UnrecoverableError ? new UnrecoverableError(reason) : new Error(reason);
        }
      },
      {
        connection,
        prefix: this.prefix,
        concurrency: options.concurrency ?? 1,
        lockDuration: this.config.jobs.lockDurationMs,
        stalledInterval: this.config.jobs.stalledIntervalMs,
      },
    );
    worker.on('error', (error) => this.logConnectionError(`worker:${queue}`, error));
    worker.on('failed', (job, error) => {
      this.logger.warn(
        { queue, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, reason: error.message },
        'job attempt failed',
      );
    });
    this.workers.set(queue, { worker, connection });
  }

  /**
   * Calls `listener` each time the gateway's Redis connection is back after being lost (a Redis restarted
   * without its data has lost the schedules: their owners set them again).
   */
  onReconnect(listener: () => void): void {
    let lost = false;
    this.redis.on('close', () => (lost = true));
    this.redis.on('ready', () => {
      if (lost) {
        lost = false;
        listener();
      }
    });
  }

  /** Adds a job; answers its id. Throws JobsUnavailableError, fast, when Redis is down. */
  async enqueue<T>(queue: QueueName, name: string, data: T, options: EnqueueOptions = {}): Promise<string> {
    const job = await this.withRedis(() => this.queue(queue).add(name, data, this.jobOptions(options)));
    return job.id ?? '';
  }

  /**
   * Adds a job and waits for its result (at most `timeoutMs`): the processor's answer, or JobFailedError
   * with the failure reason (or the timeout: the job may still run later). JobsUnavailableError: nothing
   * was enqueued. Tried once (`attempts` 1 unless given): the caller is waiting.
   */
  async enqueueAndWait<T, R>(
    queue: QueueName,
    name: string,
    data: T,
    timeoutMs: number,
    options: EnqueueOptions = {},
  ): Promise<R> {
    const { events } = await this.withRedis(() => this.queueEvents(queue));
    const job = await this.withRedis(() =>
      this.queue(queue).add(name, data, this.jobOptions({ attempts: 1, ...options })),
    );
    try {
      return (await job.waitUntilFinished(events, timeoutMs)) as R;
    } catch (error) {
      const message = (error as Error).message;
      if (/timed out|timeout/i.test(message) && !(await this.finished(queue, job.id ?? ''))) {
        throw new JobFailedError(`job ${job.id} of ${queue} did not finish within ${timeoutMs} ms`);
      }
      throw new JobFailedError(safeFailureReason(message));
    }
  }

  /**
   * Creates or updates the repeatable job `schedulerId` of `queue`: a job `name` with `data` every
   * `everyMs`. Idempotent: every instance may call it with the same arguments.
   */
  async schedule<T>(queue: QueueName, schedulerId: string, everyMs: number, name: string, data: T): Promise<void> {
    await this.withRedis(() =>
      this.queue(queue).upsertJobScheduler(schedulerId, { every: everyMs }, { name, data, opts: this.jobOptions({}) }),
    );
  }

  /** Removes the repeatable job `schedulerId` of `queue` (its job already waiting stays). */
  async unschedule(queue: QueueName, schedulerId: string): Promise<void> {
    await this.withRedis(() => this.queue(queue).removeJobScheduler(schedulerId));
  }

  /** Counts of every queue and its newest failures. Throws JobsUnavailableError, fast, when Redis is down. */
  status(): Promise<QueueStatus[]> {
    return this.withRedis(() =>
      Promise.all(
        QUEUE_NAMES.map(async (name) => {
          const queue = this.queue(name);
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
          const failed = await queue.getFailed(0, LAST_FAILURES - 1);
          return {
            name,
            waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
            active: counts.active ?? 0,
            delayed: counts.delayed ?? 0,
            failed: counts.failed ?? 0,
            lastFailures: failed.map((job) => ({
              id: job.id ?? '',
              reason: safeFailureReason(job.failedReason ?? 'failed'),
              at: new Date(job.finishedOn ?? job.timestamp).toISOString(),
            })),
          };
        }),
      ),
    );
  }

  /**
   * Closes the workers (each waits for its running job), the queue events and the queues, within
   * CLOSE_TIMEOUT_MS each: a close still waiting then (Redis down, or a job running long) is given up,
   * its connection dropped, and a warning says which were force-closed. A job cut short that way is taken
   * over once its lock lapses, by this instance's next start or another instance, as after a crash.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    const forced: string[] = [];
    await Promise.all(
      [...this.workers].map(async ([queue, { worker, connection }]) => {
        if (!(await closeWithin(() => worker.close(), CLOSE_TIMEOUT_MS))) {
          forced.push(`worker:${queue}`);
        }
        connection.disconnect();
      }),
    );
    await Promise.all(
      [...this.events].map(async ([queue, pending]) => {
        const closed = await closeWithin(async () => (await pending).events.close(), CLOSE_TIMEOUT_MS);
        if (!closed) {
          forced.push(`events:${queue}`);
        }
        void pending.then(({ connection }) => connection.disconnect()).catch(() => undefined);
      }),
    );
    await Promise.all(
      [...this.queues].map(async ([queue, q]) => {
        // The connection is the gateway's (shared): closing the queue leaves it open.
        if (!(await closeWithin(() => q.close(), CLOSE_TIMEOUT_MS))) {
          forced.push(`queue:${queue}`);
        }
      }),
    );
    if (forced.length > 0) {
      this.logger.warn(
        { closed: forced, timeoutMs: CLOSE_TIMEOUT_MS, redis: this.redis.status },
        'job workers force-closed: they did not close in time (Redis unavailable?); a job they were running is taken over once its lock lapses',
      );
    }
  }

  private queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: this.prefix, skipWaitingForReady: true });
      queue.on('error', (error) => this.logConnectionError(`queue:${name}`, error));
      this.queues.set(name, queue);
    }
    return queue;
  }

  private queueEvents(name: QueueName): Promise<{ events: QueueEvents; connection: Redis }> {
    let pending = this.events.get(name);
    if (!pending) {
      const connection = createBlockingRedis(this.config.redisUrl, `gateway-jobs-events-${name}`, (error) =>
        this.logConnectionError(`events:${name}`, error),
      );
      const events = new QueueEvents(name, { connection, prefix: this.prefix });
      events.on('error', (error) => this.logConnectionError(`events:${name}`, error));
      pending = events.waitUntilReady().then(() => ({ events, connection }));
      pending.catch(() => this.events.delete(name));
      this.events.set(name, pending);
    }
    return pending;
  }

  private async finished(queue: QueueName, jobId: string): Promise<boolean> {
    const job = await this.queue(queue)
      .getJob(jobId)
      .catch(() => undefined);
    return job?.finishedOn !== undefined;
  }

  private jobOptions(options: EnqueueOptions): JobsOptions {
    return jobOptions(options);
  }

  /** Runs a Redis call, failing with JobsUnavailableError when Redis refuses or takes too long. */
  private async withRedis<R>(call: () => Promise<R>): Promise<R> {
    if (this.closing) {
      throw new JobsUnavailableError('the job queues are closing');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new JobsUnavailableError('Redis did not answer in time')), REDIS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (error instanceof JobsUnavailableError) {
        throw error;
      }
      if (this.redis.status === 'ready') {
        this.resetQueues();
      }
      throw new JobsUnavailableError(
        `Redis is unavailable (connection ${this.redis.status}): ${safeFailureReason(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private logConnectionError(where: string, error: Error): void {
    if (this.closing) {
      return;
    }
    const key = `${where}:${error.message}`;
    const now = Date.now();
    if ((this.lastErrorLog.get(key) ?? 0) + ERROR_LOG_WINDOW_MS > now) {
      return;
    }
    this.lastErrorLog.set(key, now);
    this.logger.warn({ err: { message: error.message }, where }, 'job queue Redis error; retrying');
  }
}

/** Waits for `close` at most `timeoutMs`: true when it settled in time (resolved or failed), else false. */
async function closeWithin(close: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([
      close().then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** BullMQ options of a job the gateway adds: attempts with exponential back-off, what is kept, dedup, delay. */
export function jobOptions(options: EnqueueOptions): JobsOptions {
  return {
    attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: BACKOFF_MS },
    removeOnComplete: { count: KEEP_COMPLETED },
    removeOnFail: { count: KEEP_FAILED },
    stackTraceLimit: 0,
    ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
    ...(options.deduplicationId !== undefined ? { deduplication: { id: options.deduplicationId } } : {}),
    ...(options.delayMs !== undefined ? { delay: options.delayMs } : {}),
  };
}
