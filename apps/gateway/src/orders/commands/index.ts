import { BrokerCall } from './broker-call.js';
import { CancelAllOrdersHandler } from './cancel-all-orders.handler.js';
import { CancelOrderHandler } from './cancel-order.handler.js';
import { OrderIntake } from './order-intake.js';
import { PlaceOrderHandler } from './place-order.handler.js';
import { ReplaceOrderHandler } from './replace-order.handler.js';

/**
 * The order commands (one handler each) and the steps they share, for the module that provides them. The
 * reconcile command (ReconcileAccountHandler) is provided beside the reconciliation jobs it enqueues.
 */
export const ORDER_COMMAND_PROVIDERS = [
  OrderIntake,
  BrokerCall,
  PlaceOrderHandler,
  ReplaceOrderHandler,
  CancelOrderHandler,
  CancelAllOrdersHandler,
];
