import { Injectable } from '@nestjs/common';
import { ApiError } from '../../common/api-error.js';
import type { OrderDto } from '../order.mapper.js';
import { OrderQueries } from '../order-queries.service.js';
import { OrderRepository } from '../persistence/order.repository.js';
import { CancelOrderHandler } from './cancel-order.handler.js';

/**
 * Cancels every working order of the account (FIX OrderMassCancelRequest; `202 { orders }`), one cancel
 * at a time as CancelOrderHandler does it; answers each order's state after its cancel (an order that
 * could not take one, `order.not_cancelable`, is answered as it is).
 */
@Injectable()
export class CancelAllOrdersHandler {
  constructor(
    private readonly orders: OrderRepository,
    private readonly queries: OrderQueries,
    private readonly cancelOrder: CancelOrderHandler,
  ) {}

  async execute(accountId: string): Promise<OrderDto[]> {
    const open = await this.orders.openIds(accountId);
    const results: OrderDto[] = [];
    for (const id of open) {
      try {
        results.push(await this.cancelOrder.execute(accountId, id));
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'order.not_cancelable') {
          throw error;
        }
        results.push(await this.queries.get(accountId, id));
      }
    }
    return results;
  }
}
