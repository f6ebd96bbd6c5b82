import type { MessageInitiator } from './order-message.repository.js';

/** Injection token of the `OrderCancels` port (provided by the orders' cancel command). */
export const ORDER_CANCELS = Symbol('ORDER_CANCELS');

/**
 * Cancels one order of an account, as `DELETE /v1/accounts/{id}/orders/{orderId}` does: what the kill
 * switch needs of the orders, so that risk does not depend on them. Rejects with `ApiError`
 * `order.not_cancelable` when the order is done or a replace is pending.
 */
export interface OrderCancels {
  cancel(
    accountId: string,
    orderId: string,
    options: { onlyIfRequested?: boolean; initiator?: MessageInitiator },
  ): Promise<unknown>;
}
