import { Decimal } from '@gateway/oms';
import type { SubmitOrderCommand } from '../execution-client.js';

/**
 * For broker specs: a maker of submit commands, a market buy of 100 SPY by default, each with the next
 * `clientOrderId` of its own series (`<prefix>-1`, `<prefix>-2`, …).
 */
export function submitOrders(prefix: string): (fields?: Partial<SubmitOrderCommand>) => SubmitOrderCommand {
  let sequence = 0;
  return (fields = {}) => {
    sequence += 1;
    return {
      clientOrderId: `${prefix}-${sequence}`,
      symbol: 'SPY',
      side: 'buy',
      type: 'market',
      timeInForce: 'day',
      quantity: new Decimal(100),
      limitPrice: null,
      stopPrice: null,
      ...fields,
    };
  };
}
