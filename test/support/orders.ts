import { Decimal, type Order } from '@gateway/oms';
import { v7 as uuidv7 } from 'uuid';

/**
 * A fresh `pending_new` SPY market order of `quantity` shares, as the ledger inserts it (no seq yet);
 * `fields` override any of its fields.
 */
export function pendingOrder(
  accountId: string,
  clientOrderId: string,
  quantity = '1',
  fields: Partial<Omit<Order, 'lastSeq'>> = {},
): Omit<Order, 'lastSeq'> {
  const now = Date.now();
  return {
    id: uuidv7(),
    clientOrderId,
    accountId,
    environment: 'paper',
    symbol: 'SPY',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    positionEffect: null,
    quantity: new Decimal(quantity),
    limitPrice: null,
    stopPrice: null,
    status: 'pending_new',
    filledQuantity: new Decimal(0),
    averageFillPrice: null,
    filledNotional: new Decimal(0),
    brokerOrderId: null,
    rejectReason: null,
    replacesOrderId: null,
    replacedByOrderId: null,
    ttlMs: null,
    cancelRequestedAt: null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** A place-order body that rests at the paper venue: buy 1 SPY, limit 160.00, far below the replayed market. */
export function restingSpyBuy(clientOrderId: string): Record<string, string> {
  return { clientOrderId, symbol: 'SPY', side: 'buy', quantity: '1', type: 'limit', limitPrice: '160.00' };
}
