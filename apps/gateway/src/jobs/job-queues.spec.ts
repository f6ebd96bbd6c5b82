import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisPrefix } from '../../../../test/support/database.js';
import { loadConfig } from '../config/config.js';
import { createRedis } from '../redis/redis.provider.js';
import { safeFailureReason } from './job-failure.js';
import { JobFailedError, JobQueues, JobsUnavailableError } from './job-queues.js';

const logger = pino({ level: 'silent' });
let redis: Redis;
const open: JobQueues[] = [];

function jobQueues(prefix = redisPrefix(), client: Redis = redis, url = REDIS_URL): JobQueues {
  const queues = new JobQueues(client, loadConfig({ REDIS_PREFIX: prefix, REDIS_URL: url }), logger);
  open.push(queues);
  return queues;
}

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > until) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  redis = createRedis(REDIS_URL, 'job-queues-spec');
  await redis.connect();
});
afterAll(async () => {
  for (const queues of open) {
    await queues.onModuleDestroy();
  }
  await redis.quit();
});

describe('JobQueues (real Redis)', () => {
  it('runs an enqueued job on a registered processor and answers its result to a waiting caller', async () => {
    const queues = jobQueues();
    queues.process<{ n: number }, { doubled: number }>('reconciliation', (job) =>
      Promise.resolve({ doubled: job.data.n * 2 }),
    );
    const result = await queues.enqueueAndWait<{ n: number }, { doubled: number }>(
      'reconciliation',
      'double',
      { n: 21 },
      10_000,
    );
    expect(result).toEqual({ doubled: 42 });
  });

  it('retries a failing job with back-off, then keeps it failed with its reason, secrets taken out', async () => {
    const queues = jobQueues();
    const attempts: number[] = [];
    queues.process('token-refresh', (job) => {
      attempts.push(job.attempt);
      return Promise.reject(
        new Error('refresh refused: refresh_token=rt-SECRET-123 at https://user:pw@broker.example/token?code=abc'),
      );
    });
    await queues.enqueue('token-refresh', 'refresh', { accountId: 'a', environment: 'paper' }, { attempts: 2 });
    const queue = await eventually(async () => {
      const status = await queues.status();
      const q = status.find((s) => s.name === 'token-refresh');
      return q && q.failed === 1 ? q : undefined;
    });
    expect(attempts).toEqual([1, 2]);
    expect(queue.lastFailures).toHaveLength(1);
    const reason = queue.lastFailures[0]!.reason;
    expect(reason).toContain('refresh refused');
    expect(reason).not.toMatch(/rt-SECRET-123|pw@|code=abc/);
    expect(new Date(queue.lastFailures[0]!.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // Other queues are listed, with nothing in them.
    expect((await queues.status()).map((s) => s.name)).toEqual(['reconciliation', 'token-refresh', 'key-rotation']);
  });

  it('a waiting caller of a failing job gets JobFailedError with the reason', async () => {
    const queues = jobQueues();
    queues.process('key-rotation', () => Promise.reject(new Error('kms down')));
    await expect(queues.enqueueAndWait('key-rotation', 'rotate', {}, 10_000)).rejects.toThrow(JobFailedError);
  });

  it('keeps instances sharing a prefix on one queue, and instances with another prefix apart', async () => {
    const prefix = redisPrefix();
    const [a, b, other] = [jobQueues(prefix), jobQueues(prefix), jobQueues()];
    const ran: string[] = [];
    other.process<{ n: number }, null>('reconciliation', () => {
      ran.push('other');
      return Promise.resolve(null);
    });
    a.process<{ n: number }, null>('reconciliation', () => {
      ran.push('a');
      return Promise.resolve(null);
    });
    await b.enqueueAndWait('reconciliation', 'x', { n: 1 }, 10_000);
    expect(ran).toEqual(['a']);
  });

  it('runs a repeatable job again and again until it is unscheduled; a duplicate while one waits is not added', async () => {
    const queues = jobQueues();
    const runs: string[] = [];
    queues.process<{ accountId: string }, null>('key-rotation', (job) => {
      runs.push(job.data.accountId);
      return Promise.resolve(null);
    });
    await queues.schedule('key-rotation', 'every-200ms', 200, 'tick', { accountId: 'a' });
    await queues.schedule('key-rotation', 'every-200ms', 200, 'tick', { accountId: 'a' });
    await eventually(() => Promise.resolve(runs.length >= 3 ? true : undefined));
    await queues.unschedule('key-rotation', 'every-200ms');
    const first = await queues.enqueue(
      'key-rotation',
      'later',
      { accountId: 'b' },
      { deduplicationId: 'b', delayMs: 60_000 },
    );
    const second = await queues.enqueue(
      'key-rotation',
      'later',
      { accountId: 'b' },
      { deduplicationId: 'b', delayMs: 60_000 },
    );
    expect(second).toBe(first);
    const status = (await queues.status()).find((q) => q.name === 'key-rotation')!;
    expect(status.delayed).toBe(1);
  });

  it('answers JobsUnavailableError at once, not a hang, when Redis is down', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'job-queues-spec-down');
    await down.connect().catch(() => undefined);
    const queues = jobQueues(redisPrefix(), down, 'redis://127.0.0.1:1');
    const started = Date.now();
    await expect(queues.status()).rejects.toThrow(JobsUnavailableError);
    await expect(queues.enqueue('reconciliation', 'x', {})).rejects.toThrow(JobsUnavailableError);
    expect(Date.now() - started).toBeLessThan(7_000);
    down.disconnect();
  });
});

describe('safeFailureReason', () => {
  it('takes out bearer tokens, URL credentials and queries, secret-named values and long opaque strings', () => {
    const reason = safeFailureReason(
      new Error(
        'POST https://u:p@host/x?client_secret=s1 failed: Authorization: Bearer eyJabc.def; {"access_token":"at-1"} ' +
          `secret=s2 ${'A'.repeat(64)}`,
      ),
    );
    for (const secret of ['u:p@', 's1', 'eyJabc', 'at-1', 's2', 'A'.repeat(64)]) {
      expect(reason).not.toContain(secret);
    }
    expect(reason).toContain('failed');
    expect(safeFailureReason(new Error('x'.repeat(1000))).length).toBeLessThanOrEqual(300);
  });
});
