import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GatewayConfig } from '../config/config.js';
import { createRedis } from '../redis/redis.provider.js';
import {
  type EnqueueOptions,
  jobOptions,
  type JobSnapshot,
  JobsUnavailableError,
  type QueueName,
} from './job-queues.js';

/**
 * The gateway's queues seen from outside a gateway process (the admin CLI): adds jobs for the
 * gateways' workers to run and reads them back, over a fail-fast Redis connection of its own (same
 * REDIS_URL and REDIS_PREFIX as the gateway). It runs no job itself.
 */
export class JobClient {
  private readonly queues = new Map<QueueName, Queue>();

  private constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  /** Connects to Redis; JobsUnavailableError when it cannot. */
  static async open(config: Pick<GatewayConfig, 'redisUrl' | 'redisPrefix'>): Promise<JobClient> {
    const connection = createRedis(config.redisUrl, 'gateway-cli-jobs');
    try {
      await connection.connect();
    } catch (error) {
      connection.disconnect();
      throw new JobsUnavailableError(`Redis is not reachable (REDIS_URL): ${(error as Error).message}`);
    }
    return new JobClient(connection, `${config.redisPrefix}bull`);
  }

  /** How many workers (gateway instances) are connected to `queue` now (Redis CLIENT LIST). */
  async workers(queue: QueueName): Promise<number> {
    return this.queue(queue).getWorkersCount();
  }

  /**
   * Adds a job as the gateway does (its retries, back-off and retention); answers its id. With
   * `deduplicationId`, while such a job is waiting, delayed or active, the answer is that job's id.
   */
  async enqueue<T>(queue: QueueName, name: string, data: T, options: EnqueueOptions = {}): Promise<string> {
    const job = await this.queue(queue).add(name, data, jobOptions(options));
    return job.id ?? '';
  }

  /** The job as it stands, or null when it is not (or no more) in Redis. */
  async get<T, R>(queue: QueueName, id: string): Promise<JobSnapshot<T, R> | null> {
    const job = await this.queue(queue).getJob(id);
    if (!job) {
      return null;
    }
    return {
      id,
      state: await job.getState(),
      data: job.data as T,
      progress: job.progress,
      result: (job.returnvalue as R | undefined) ?? null,
      failedReason: job.failedReason ?? null,
      attemptsStarted: job.attemptsStarted,
    };
  }

  async close(): Promise<void> {
    for (const queue of this.queues.values()) {
      await queue.close().catch(() => undefined);
    }
    this.connection.disconnect();
  }

  private queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }
}
