import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { MetricsModule } from '../health/metrics.module.js';
import { ORDER_CANCELS } from '../risk/order-cancels.port.js';
import { RiskModule } from '../risk/risk.module.js';
import { AFTER_COMMIT_PROVIDERS } from './after-commit/index.js';
import { CancelOrderHandler } from './commands/cancel-order.handler.js';
import { ORDER_COMMAND_PROVIDERS } from './commands/index.js';
import { ReconcileAccountHandler } from './commands/reconcile-account.handler.js';
import { EventBus } from './event-bus.js';
import { ExecutionReportProcessor } from './execution-report.processor.js';
import { OrderLedger } from './order-ledger.js';
import { OrderQueries } from './order-queries.service.js';
import { BrokerReconnectReconciliation } from './broker-reconnect.js';
import { OrderReconciler } from './order-reconciler.js';
import { OrderTtlScheduler } from './order-ttl.scheduler.js';
import { PositionReconciler } from './position-reconciler.js';
import { OrdersController } from './orders.controller.js';
import { ReconciliationJobs } from './reconciliation-jobs.js';
import { ReconciliationController } from './reconciliation.controller.js';
import { ORDER_REPOSITORIES } from './persistence/index.js';
import { ReconciliationBreakRepository } from './persistence/reconciliation-break.repository.js';

/**
 * The order path: the order commands and their ledger, execution reports, reconciliation, time-to-live,
 * the account passes as jobs of the `reconciliation` queue (ReconciliationJobs), the order event fan-out, and the `/v1/accounts/{accountId}/orders...` routes. Imports the pre-trade
 * risk controls (RiskModule). Exports what other modules inject: the `ORDER_CANCELS` port of the kill
 * switch, the `EventBus` and the `OrderQueries` of the stream.
 */
@Module({
  imports: [AccountsModule, RiskModule, MetricsModule],
  controllers: [OrdersController, ReconciliationController],
  providers: [
    ...ORDER_REPOSITORIES,
    ...AFTER_COMMIT_PROVIDERS,
    OrderLedger,
    OrderQueries,
    ...ORDER_COMMAND_PROVIDERS,
    { provide: ORDER_CANCELS, useExisting: CancelOrderHandler },
    OrderTtlScheduler,
    OrderReconciler,
    PositionReconciler,
    ReconciliationJobs,
    ReconcileAccountHandler,
    BrokerReconnectReconciliation,
    ExecutionReportProcessor,
    EventBus,
  ],
  exports: [ORDER_CANCELS, EventBus, OrderQueries, ReconciliationBreakRepository],
})
export class OrdersModule {}
