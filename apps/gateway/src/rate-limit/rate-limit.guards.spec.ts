import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/database.js';
import { Public } from '../auth/auth.guard.js';
import { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { loadConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { createRedis } from '../redis/redis.provider.js';
import { AddressRateLimitGuard } from './address-rate-limit.guard.js';
import { ClientRateLimitGuard } from './client-rate-limit.guard.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';
import { RequestRateLimiter } from './request-rate-limiter.js';

@Controller()
class Routes {
  @Get()
  limited(): void {}

  @Public()
  @Get()
  health(): void {}
}

/** The slice of an Express response the guards use. */
class FakeResponse extends EventEmitter {
  statusCode = 200;
  readonly headers = new Map<string, string>();
  setHeader(name: string, value: string): void {
    this.headers.set(name.toLowerCase(), value);
  }
}

let redis: Redis;
beforeAll(async () => {
  redis = createRedis(REDIS_URL, 'rate-limit-guard-spec');
  await redis.connect();
});
afterAll(async () => {
  await redis.quit();
});

function guards(env: Record<string, string>) {
  const config = loadConfig({ REDIS_PREFIX: `gwtest:${randomBytes(4).toString('hex')}:`, ...env });
  const limiter = new RequestRateLimiter(
    redis,
    config,
    new RateLimitMetrics(new GatewayMetrics()),
    pino({ level: 'silent' }),
  );
  return {
    client: new ClientRateLimitGuard(new Reflector(), limiter),
    address: new AddressRateLimitGuard(new Reflector(), limiter),
  };
}

function request(method: string, path: string, subject?: string, handler: 'limited' | 'health' = 'limited') {
  const req = {
    method,
    path,
    ip: '192.0.2.7',
    socket: {},
    ...(subject ? { principal: new Principal(subject, new Set(['trader']), '*') } : {}),
  };
  const res = new FakeResponse();
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const context = new ExecutionContextHost([req, res], Routes, Routes.prototype[handler]);
  return { context, res };
}

async function refusal(work: Promise<boolean>): Promise<ApiError> {
  const error: unknown = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('ClientRateLimitGuard', () => {
  it('refuses a subject over its budget with 429 rate_limit.exceeded and Retry-After in whole seconds', async () => {
    const { client } = guards({ RATE_LIMIT_REQUESTS: '2/3s' });
    for (let i = 0; i < 2; i++) {
      expect(await client.canActivate(request('GET', '/v1/accounts', 'alice').context)).toBe(true);
    }
    const { context, res } = request('GET', '/v1/accounts', 'alice');
    const error = await refusal(client.canActivate(context));
    expect(error).toMatchObject({ status: 429, code: 'rate_limit.exceeded' });
    expect(res.headers.get('retry-after')).toMatch(/^[1-3]$/);
    expect(error.extra).toEqual({ retryAfterSeconds: Number(res.headers.get('retry-after')) });
    // Another subject, and the health route, are not affected.
    expect(await client.canActivate(request('GET', '/v1/accounts', 'bob').context)).toBe(true);
    expect(await client.canActivate(request('GET', '/health/live', 'alice', 'health').context)).toBe(true);
  });

  it('spends the order budget on placing and replacing orders only, not on cancels and reads', async () => {
    const { client } = guards({ RATE_LIMIT_REQUESTS: '100/10s', RATE_LIMIT_ORDERS: '2/10s' });
    const place = () => client.canActivate(request('POST', '/v1/accounts/a1/orders', 'carol').context);
    const replace = () => client.canActivate(request('PATCH', '/v1/accounts/a1/orders/o1', 'carol').context);
    expect(await place()).toBe(true);
    expect(await replace()).toBe(true);
    expect(await refusal(place())).toMatchObject({ status: 429, detail: expect.stringMatching(/orders/) });
    expect(await refusal(replace())).toMatchObject({ status: 429 });
    for (const [method, path] of [
      ['DELETE', '/v1/accounts/a1/orders/o1'],
      ['DELETE', '/v1/accounts/a1/orders'],
      ['GET', '/v1/accounts/a1/orders'],
      ['POST', '/v1/accounts/a1/trading-state'],
    ] as const) {
      expect(await client.canActivate(request(method, path, 'carol').context), `${method} ${path}`).toBe(true);
    }
  });
});

describe('AddressRateLimitGuard', () => {
  it('counts only refused (401) answers of an address, then refuses it before the token check', async () => {
    const { address } = guards({ RATE_LIMIT_UNAUTHENTICATED: '2/5s' });
    const answer = async (status: number) => {
      const { context, res } = request('GET', '/v1/accounts');
      const passed = await address.canActivate(context);
      res.statusCode = status;
      res.emit('finish');
      // The charge is written after the answer; give it a round trip to Redis.
      await redis.ping();
      return passed;
    };
    expect(await answer(200)).toBe(true);
    expect(await answer(200)).toBe(true);
    expect(await answer(200)).toBe(true);
    expect(await answer(401)).toBe(true);
    expect(await answer(401)).toBe(true);
    const { context, res } = request('GET', '/v1/accounts');
    expect(await refusal(address.canActivate(context))).toMatchObject({ status: 429, code: 'rate_limit.exceeded' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Health stays reachable from a refused address.
    expect(await address.canActivate(request('GET', '/health/live', undefined, 'health').context)).toBe(true);
  });
});
