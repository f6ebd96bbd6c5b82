import { eventNameFor, nextStatus, type Order, type OrderTrigger } from '@gateway/oms';
import type { Logger } from 'pino';
import type { AccountTransaction } from './order-ledger.js';
import type { ExecutionDto } from './order.mapper.js';

export interface TriggerOptions {
  readonly now: number;
  /** Fields that change with the trigger (broker order id, fill state, reject reason...). */
  readonly patch?: Partial<Order>;
  readonly execution?: ExecutionDto;
  readonly brokerPayload?: unknown;
}

/**
 * Applies one trigger through the transition table and appends its event. An invalid transition
 * changes nothing and is logged with the evidence (a broker report we did not expect): returns null.
 */
export async function applyTrigger(
  tx: AccountTransaction,
  order: Order,
  trigger: OrderTrigger,
  options: TriggerOptions,
  logger: Logger,
): Promise<Order | null> {
  const status = nextStatus(order.status, trigger);
  if (status === null) {
    logger.warn(
      { orderId: order.id, accountId: order.accountId, from: order.status, trigger, evidence: options.brokerPayload },
      'invalid order transition ignored',
    );
    return null;
  }
  const next: Order = { ...order, ...options.patch, status, updatedAt: options.now };
  return tx.updateOrder(next, eventNameFor(trigger), options.execution, options.brokerPayload);
}
