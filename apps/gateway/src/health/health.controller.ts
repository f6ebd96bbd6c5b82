import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { Public } from '../auth/auth.guard.js';
import { DatabaseHealth } from '../persistence/database-health.js';
import { REDIS } from '../redis/redis.provider.js';
import { GatewayMetrics } from './metrics.js';
import { drainState } from './draining.js';

type Check = { status: 'up' | 'down'; detail?: string };

const withTimeout = async (work: Promise<unknown>, ms: number): Promise<Check> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
};

@Controller()
@Public()
export class HealthController {
  constructor(
    private readonly database: DatabaseHealth,
    private readonly metrics: GatewayMetrics,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** The process is up. */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to take orders: PostgreSQL, Redis and the broker session answer. 503 otherwise. */
  @Get('health/ready')
  async ready(
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: 'ok' | 'unavailable'; checks: Record<string, Check> }> {
    if (drainState.since !== null) {
      res.status(503);
      return { status: 'unavailable', checks: { draining: { status: 'down', detail: 'shutting down: draining' } } };
    }
    const [database, redis] = await Promise.all([
      withTimeout(this.database.ping(), 2_000),
      withTimeout(this.redis.ping(), 2_000),
    ]);
    // The paper venue runs in-process: its session is up whenever the process is.
    const checks = { database, redis, broker: { status: 'up' as const } };
    const ok = Object.values(checks).every((c) => c.status === 'up');
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async prometheus(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
