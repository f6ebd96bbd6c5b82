import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/database.js';
import { loadConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { createRedis } from '../redis/redis.provider.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';
import { RequestRateLimiter } from './request-rate-limiter.js';

const logger = pino({ level: 'silent' });
let redis: Redis;

/** A limiter like one gateway instance's, with its own metrics; `prefix` shared makes them one cluster. */
function instance(prefix: string, env: Record<string, string>, client: Redis = redis) {
  const metrics = new GatewayMetrics();
  const limiter = new RequestRateLimiter(
    client,
    loadConfig({ REDIS_PREFIX: prefix, ...env }),
    new RateLimitMetrics(metrics),
    logger,
  );
  return { limiter, metrics };
}

const prefix = () => `gwtest:${randomBytes(4).toString('hex')}:`;
const count = async (decisions: Promise<{ kind: string }>[]) =>
  (await Promise.all(decisions)).filter((d) => d.kind === 'allowed').length;

beforeAll(async () => {
  redis = createRedis(REDIS_URL, 'rate-limit-spec');
  await redis.connect();
});
afterAll(async () => {
  await redis.quit();
});

describe('RequestRateLimiter (real Redis)', () => {
  it('shares one budget per subject between instances, and tells how long to wait', async () => {
    const env = { RATE_LIMIT_REQUESTS: '5/2s', RATE_LIMIT_ORDERS: 'off' };
    const p = prefix();
    const [a, b] = [instance(p, env).limiter, instance(p, env).limiter];
    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).consumeClient('alice', false)),
    );
    expect(decisions.filter((d) => d.kind === 'allowed')).toHaveLength(5);
    const refused = decisions.filter((d) => d.kind === 'limited');
    expect(refused).toHaveLength(7);
    for (const d of refused) {
      expect(d).toMatchObject({ kind: 'limited', scope: 'requests' });
      expect(d.kind === 'limited' && d.retryAfterMs).toBeGreaterThan(0);
      expect(d.kind === 'limited' && d.retryAfterMs).toBeLessThanOrEqual(2000);
    }
    // Another subject has its own budget.
    expect(await count([a.consumeClient('bob', false), b.consumeClient('bob', false)])).toBe(2);
  });

  it('counts orders in their own, tighter budget on top of the request budget', async () => {
    const { limiter } = instance(prefix(), { RATE_LIMIT_REQUESTS: '10/10s', RATE_LIMIT_ORDERS: '3/10s' });
    const orders = await Promise.all(Array.from({ length: 5 }, () => limiter.consumeClient('carol', true)));
    expect(orders.map((d) => d.kind)).toEqual(['allowed', 'allowed', 'allowed', 'limited', 'limited']);
    expect(orders[4]).toMatchObject({ scope: 'orders' });
    // Reads still pass: 5 of the 10 requests are used.
    expect(await count(Array.from({ length: 6 }, () => limiter.consumeClient('carol', false)))).toBe(5);
  });

  it('limits an address only by its refused requests, and reads its state without counting', async () => {
    const { limiter } = instance(prefix(), { RATE_LIMIT_UNAUTHENTICATED: '2/10s' });
    expect(await limiter.checkAddress('10.0.0.1')).toEqual({ kind: 'allowed' });
    expect(await limiter.checkAddress('10.0.0.1')).toEqual({ kind: 'allowed' });
    await limiter.chargeAddress('10.0.0.1');
    expect(await limiter.checkAddress('10.0.0.1')).toEqual({ kind: 'allowed' });
    await limiter.chargeAddress('10.0.0.1');
    expect(await limiter.checkAddress('10.0.0.1')).toMatchObject({ kind: 'limited', scope: 'unauthenticated' });
    expect(await limiter.checkAddress('10.0.0.2')).toEqual({ kind: 'allowed' });
  });

  it('with Redis down, still limits (per instance, in memory) instead of failing, and says so in its metrics', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'rate-limit-spec-down');
    try {
      const { limiter, metrics } = instance(prefix(), { RATE_LIMIT_REQUESTS: '3/10s' }, down);
      const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.consumeClient('dave', false)));
      expect(decisions.map((d) => d.kind)).toEqual(['allowed', 'allowed', 'allowed', 'limited', 'limited']);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/gateway_rate_limit_fallback_total\{environments="paper"\} 5/);
      expect(text).toMatch(/gateway_rate_limited_total\{scope="requests",environments="paper"\} 2/);
    } finally {
      down.disconnect();
    }
  });

  it('lets everything through with every budget off, without asking Redis', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'rate-limit-spec-off');
    try {
      const off = { RATE_LIMIT_REQUESTS: 'off', RATE_LIMIT_ORDERS: 'off', RATE_LIMIT_UNAUTHENTICATED: 'off' };
      const { limiter, metrics } = instance(prefix(), off, down);
      expect(await count(Array.from({ length: 50 }, () => limiter.consumeClient('erin', true)))).toBe(50);
      expect(await limiter.checkAddress('10.0.0.3')).toEqual({ kind: 'allowed' });
      expect(await metrics.registry.metrics()).toMatch(/gateway_rate_limit_fallback_total\{environments="paper"\} 0/);
    } finally {
      down.disconnect();
    }
  });
});
