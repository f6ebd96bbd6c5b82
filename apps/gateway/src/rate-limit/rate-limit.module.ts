import { Module } from '@nestjs/common';
import { MetricsModule } from '../health/metrics.module.js';
import { BrokerOrderRate } from './broker-order-rate.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';
import { RequestRateLimiter } from './request-rate-limiter.js';
import { StreamLimiter } from './stream-limiter.js';

/**
 * The request and stream limits (Redis, per address and per client). Exports the `RequestRateLimiter`
 * of the two rate-limit guards (global guards, registered by AppModule in their order) and the stream's
 * `StreamLimiter`.
 */
@Module({
  imports: [MetricsModule],
  providers: [RateLimitMetrics, RequestRateLimiter, StreamLimiter, BrokerOrderRate],
  exports: [RequestRateLimiter, StreamLimiter, BrokerOrderRate],
})
export class RateLimitModule {}
