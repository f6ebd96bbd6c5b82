import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { AfterCommitDispatcher } from '../../apps/gateway/src/orders/after-commit/after-commit.dispatcher.js';
import { OrderLedger } from '../../apps/gateway/src/orders/order-ledger.js';
import { ExecutionRepository } from '../../apps/gateway/src/orders/persistence/execution.repository.js';
import { IdempotencyKeyRepository } from '../../apps/gateway/src/orders/persistence/idempotency-key.repository.js';
import { OrderEventRepository } from '../../apps/gateway/src/orders/persistence/order-event.repository.js';
import { OrderRepository } from '../../apps/gateway/src/orders/persistence/order.repository.js';
import { PositionRepository } from '../../apps/gateway/src/orders/persistence/position.repository.js';
import { RestartBlockRepository } from '../../apps/gateway/src/orders/persistence/restart-block.repository.js';

/** The order path's repositories over one database, as the Nest module provides them. */
export function orderRepositories(dataSource: DataSource) {
  return {
    orders: new OrderRepository(dataSource),
    events: new OrderEventRepository(dataSource),
    executions: new ExecutionRepository(dataSource),
    positions: new PositionRepository(dataSource),
    idempotencyKeys: new IdempotencyKeyRepository(),
    restartBlocks: new RestartBlockRepository(dataSource),
  };
}

export type OrderRepositories = ReturnType<typeof orderRepositories>;

/** The real ledger over `dataSource`, with its after-commit dispatcher (no handlers registered). */
export function orderLedger(dataSource: DataSource, logger: Logger): OrderLedger {
  const repos = orderRepositories(dataSource);
  return new OrderLedger(dataSource, repos.orders, repos.events, new AfterCommitDispatcher(logger), logger);
}
