import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/database.js';
import { loadConfig } from '../config/config.js';
import { createRedis } from '../redis/redis.provider.js';
import { BrokerOrderRate } from './broker-order-rate.js';

const logger = pino({ level: 'silent' });
let redis: Redis;
const prefix = () => `gwtest:${randomBytes(4).toString('hex')}:`;
/** One gateway instance's count; the same `prefix` makes instances one deployment. */
const instance = (p: string, rate: string) =>
  new BrokerOrderRate(
    redis,
    loadConfig({
      REDIS_PREFIX: p,
      BROKERS: 'paper,schwab',
      BROKER_SCHWAB_ADAPTER: 'schwab',
      BROKER_SCHWAB_ORDER_RATE_PER_MINUTE: rate,
    }),
    logger,
  );

beforeAll(async () => {
  redis = createRedis(REDIS_URL, 'broker-order-rate-spec');
  await redis.connect();
});
afterAll(async () => {
  await redis.quit();
});

describe('BrokerOrderRate (real Redis)', () => {
  it('counts the app limit across instances, half per one-minute window, and names the broker limit when refusing', async () => {
    const p = prefix();
    const [a, b] = [instance(p, '10'), instance(p, '10')];
    const decisions = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).take('schwab')));
    expect(decisions.filter((d) => d.kind === 'allowed')).toHaveLength(5);
    const refused = decisions.find((d) => d.kind === 'limited');
    expect(refused).toMatchObject({
      kind: 'limited',
      broker: 'schwab',
      reason: expect.stringContaining('BROKER_SCHWAB_ORDER_RATE_PER_MINUTE'),
    });
    expect((refused as { reason: string }).reason).toContain('10 order requests');
    // Other brokers, and a deployment with the count off, are not limited.
    expect(await a.take('paper')).toEqual({ kind: 'allowed' });
    const off = instance(prefix(), '0');
    expect(
      (await Promise.all(Array.from({ length: 20 }, () => off.take('schwab')))).every((d) => d.kind === 'allowed'),
    ).toBe(true);
  });

  it('counts cancels without ever refusing them', async () => {
    const p = prefix();
    const a = instance(p, '6');
    for (let i = 0; i < 5; i++) {
      await a.count('schwab');
    }
    expect(await a.take('schwab')).toMatchObject({ kind: 'limited' });
  });
});
