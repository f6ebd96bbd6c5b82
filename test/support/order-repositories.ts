import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { OrderLedger } from '../../apps/gateway/src/orders/order-ledger.js';
import { ExecutionRepository } from '../../apps/gateway/src/orders/persistence/execution.repository.js';
import { IdempotencyKeyRepository } from '../../apps/gateway/src/orders/persistence/idempotency-key.repository.js';
import { OrderEventRepository } from '../../apps/gateway/src/orders/persistence/order-event.repository.js';
import { OrderRepository } from '../../apps/gateway/src/orders/persistence/order.repository.js';
import { PositionRepository } from '../../apps/gateway/src/orders/persistence/position.repository.js';
import { RestartBlockRepository } from '../../apps/gateway/src/orders/persistence/restart-block.repository.js';
import { orderPathTestingModule } from './testing-module.js';

/** The order path's repositories over one database, as the Nest module provides them. */
export async function orderRepositories(dataSource: DataSource) {
  const module = await orderPathTestingModule({ dataSource });
  return {
    orders: module.get(OrderRepository),
    events: module.get(OrderEventRepository),
    executions: module.get(ExecutionRepository),
    positions: module.get(PositionRepository),
    idempotencyKeys: module.get(IdempotencyKeyRepository),
    restartBlocks: module.get(RestartBlockRepository),
  };
}

export type OrderRepositories = Awaited<ReturnType<typeof orderRepositories>>;

/** The real ledger over `dataSource`, with its after-commit dispatcher (no handlers registered). */
export async function orderLedger(dataSource: DataSource, logger: Logger): Promise<OrderLedger> {
  return (await orderPathTestingModule({ dataSource, logger })).get(OrderLedger);
}
