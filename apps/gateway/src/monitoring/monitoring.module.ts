import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { MetricsModule } from '../health/metrics.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { RiskModule } from '../risk/risk.module.js';
import { SnapshotPublisher } from './snapshot-publisher.js';
import { StateReader } from './state-reader.js';

/**
 * The operations cockpit's side in the gateway: the snapshot publisher (README, "Cockpit"). It reads
 * through the other modules' exports (accounts and trading states, order queries, the order-to-trade
 * counts, the metrics registry; the global JobQueues and market providers) and provides nothing to them.
 */
@Module({
  imports: [AccountsModule, OrdersModule, RiskModule, MetricsModule],
  providers: [StateReader, SnapshotPublisher],
})
export class MonitoringModule {}
