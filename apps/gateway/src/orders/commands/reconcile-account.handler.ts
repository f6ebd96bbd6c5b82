import { Injectable } from '@nestjs/common';
import { OrderReconciler } from '../order-reconciler.js';

/** The corrections of an account pass: per order, the kinds of the actions taken (`accept`, `fill`, ...). */
export interface AccountReconciliation {
  readonly orders: { orderId: string; actions: string[] }[];
}

/**
 * Runs the account reconciliation pass now (the one that runs at start-up, OrderReconciler): the
 * account's orders and executions against the broker's reports. Answers the corrections made.
 */
@Injectable()
export class ReconcileAccountHandler {
  constructor(private readonly reconciler: OrderReconciler) {}

  async execute(accountId: string): Promise<AccountReconciliation> {
    const results = await this.reconciler.reconcileAccount(accountId);
    return { orders: results.map((r) => ({ orderId: r.orderId, actions: r.actions.map((a) => a.kind) })) };
  }
}
