import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../common/logger.js';
import type { StreamEvent } from '../../orders/stream-event.js';

/** Work done with the events of a unit of work once it has committed (never before). Must not throw. */
export type AfterCommitHandler = (events: readonly StreamEvent[]) => void;

/**
 * A small in-process dispatcher: after an account transaction commits (OrderLedger.inAccount), the
 * order events it recorded go to every registered handler, in registration order: the stream fan-out,
 * the time-to-live arming, the order metrics, the held cancel. A failing handler is logged and does not stop the others.
 */
@Injectable()
export class AfterCommitDispatcher {
  private readonly handlers = new Set<AfterCommitHandler>();

  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  /** Registers a handler; returns the function that removes it. */
  register(handler: AfterCommitHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  dispatch(events: readonly StreamEvent[]): void {
    if (events.length === 0) {
      return;
    }
    for (const handler of this.handlers) {
      try {
        handler(events);
      } catch (error) {
        this.logger.error({ err: error }, 'after-commit handler failed');
      }
    }
  }
}
