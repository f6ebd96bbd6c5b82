import { AfterCommitDispatcher } from './after-commit.dispatcher.js';
import { ArmOrderTtl } from './arm-order-ttl.handler.js';
import { CountPlacedOrders } from './count-placed-orders.handler.js';
import { PublishOrderEvents } from './publish-order-events.handler.js';
import { SendHeldCancel } from './send-held-cancel.handler.js';

/** The after-commit dispatcher and its handlers, for the module that provides them. */
export const AFTER_COMMIT_PROVIDERS = [
  AfterCommitDispatcher,
  PublishOrderEvents,
  ArmOrderTtl,
  CountPlacedOrders,
  SendHeldCancel,
];
