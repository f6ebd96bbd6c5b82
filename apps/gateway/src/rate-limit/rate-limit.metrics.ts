import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { GatewayMetrics } from '../health/metrics.js';

/** Where a refusal came from: a REST budget (429) or a stream limit (error frame, close 4429). */
export type RateLimitMetricScope =
  'requests' | 'orders' | 'unauthenticated' | 'stream_subscriptions' | 'stream_connections';

/** The abuse limits' Prometheus counters, on the gateway's registry (`GET /metrics`). */
@Injectable()
export class RateLimitMetrics {
  readonly limited: Counter<'scope'>;
  readonly fallbacks: Counter;

  constructor(@Inject(GatewayMetrics) metrics: GatewayMetrics) {
    this.limited = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests and stream actions refused by an abuse limit (429, error frame, close 4429), by limit',
      labelNames: ['scope'],
      registers: [metrics.registry],
    });
    this.fallbacks = new Counter({
      name: 'gateway_rate_limit_fallback_total',
      help: 'Rate-limit checks answered by the per-instance in-memory limiter because Redis was unavailable',
      registers: [metrics.registry],
    });
  }

  refused(scope: RateLimitMetricScope): void {
    this.limited.inc({ scope });
  }
}
