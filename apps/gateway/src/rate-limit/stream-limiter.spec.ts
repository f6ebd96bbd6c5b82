import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/database.js';
import { loadConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { createRedis } from '../redis/redis.provider.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';
import { StreamLimiter } from './stream-limiter.js';

const connections: Redis[] = [];
const limiters: StreamLimiter[] = [];

async function connection(): Promise<Redis> {
  const redis = createRedis(REDIS_URL, 'stream-limiter-spec');
  await redis.connect();
  connections.push(redis);
  return redis;
}

/** One instance's limiter: at most 2 connections per subject, leases of 3 × 100 ms. */
async function instance(prefix: string, redis?: Redis): Promise<StreamLimiter> {
  const config = loadConfig({
    REDIS_PREFIX: prefix,
    WS_MAX_CONNECTIONS_PER_PRINCIPAL: '2',
    WS_MAX_SUBSCRIPTIONS: '3',
    WS_PING_INTERVAL_MS: '100',
  });
  const limiter = new StreamLimiter(
    redis ?? (await connection()),
    config,
    new RateLimitMetrics(new GatewayMetrics()),
    pino({ level: 'silent' }),
  );
  limiters.push(limiter);
  return limiter;
}

const prefix = () => `gwtest:${randomBytes(4).toString('hex')}:`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  for (const l of limiters) {
    await l.onModuleDestroy();
  }
  connections.forEach((c) => c.disconnect());
});

describe('StreamLimiter (real Redis)', () => {
  let a: StreamLimiter;
  let b: StreamLimiter;
  beforeAll(async () => {
    const p = prefix();
    [a, b] = [await instance(p), await instance(p)];
  });

  it('counts a subject’s connections across instances and frees a slot when one closes', async () => {
    const first = await a.acquire('alice');
    const second = await b.acquire('alice');
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(await a.acquire('alice')).toBeNull();
    expect(await b.acquire('alice')).toBeNull();
    expect(await a.acquire('bob')).not.toBeNull();
    b.release(second!);
    await sleep(20);
    expect(await a.acquire('alice')).not.toBeNull();
  });

  it('keeps live leases past their first expiry (refreshed), and forgets those of a dead instance', async () => {
    const p = prefix();
    const live = await instance(p);
    const deadRedis = await connection();
    const dead = await instance(p, deadRedis);
    expect(await live.acquire('carol')).not.toBeNull();
    expect(await dead.acquire('carol')).not.toBeNull();
    expect(await live.acquire('carol')).toBeNull();
    // The dead instance can no longer refresh; the live one does, every 100 ms.
    deadRedis.disconnect();
    await sleep(600);
    expect(await live.acquire('carol')).not.toBeNull();
    expect(await live.acquire('carol')).toBeNull();
  });

  it('allows WS_MAX_SUBSCRIPTIONS per connection', () => {
    expect([0, 1, 2, 3, 4].map((n) => a.allowsSubscription(n))).toEqual([true, true, true, false, false]);
  });

  it('with Redis down, counts the instance’s own connections', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'stream-limiter-spec-down');
    connections.push(down);
    const alone = await instance(prefix(), down);
    expect(await alone.acquire('dave')).not.toBeNull();
    expect(await alone.acquire('dave')).not.toBeNull();
    expect(await alone.acquire('dave')).toBeNull();
  });
});
