import { Module } from '@nestjs/common';
import { BrokerRoundTrips } from './broker-round-trips.js';
import { GatewayMetrics } from './metrics.js';

/**
 * The process's Prometheus registry (`GatewayMetrics`): one instance, served by `GET /metrics`, that every
 * module counting something imports; and the broker round trips over the lockdown's window
 * (`BrokerRoundTrips`), which the order commands record and the RTT lockdown reads.
 */
@Module({
  providers: [GatewayMetrics, BrokerRoundTrips],
  exports: [GatewayMetrics, BrokerRoundTrips],
})
export class MetricsModule {}
