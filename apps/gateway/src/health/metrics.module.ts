import { Module } from '@nestjs/common';
import { GatewayMetrics } from './metrics.js';

/**
 * The process's Prometheus registry (`GatewayMetrics`): one instance, served by `GET /metrics`, that every
 * module counting something imports.
 */
@Module({
  providers: [GatewayMetrics],
  exports: [GatewayMetrics],
})
export class MetricsModule {}
