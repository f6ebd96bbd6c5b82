import { ExecutionRepository } from './execution.repository.js';
import { IdempotencyKeyRepository } from './idempotency-key.repository.js';
import { OrderEventRepository } from './order-event.repository.js';
import { OrderRepository } from './order.repository.js';
import { PositionRepository } from './position.repository.js';
import { ReconciliationBreakRepository } from './reconciliation-break.repository.js';
import { ReconciliationRunRepository } from './reconciliation-run.repository.js';
import { RestartBlockRepository } from './restart-block.repository.js';

/** The order path's repositories, for the module that provides them. */
export const ORDER_REPOSITORIES = [
  OrderRepository,
  OrderEventRepository,
  ExecutionRepository,
  PositionRepository,
  IdempotencyKeyRepository,
  RestartBlockRepository,
  ReconciliationRunRepository,
  ReconciliationBreakRepository,
];
