import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EventBus } from '../../orders/event-bus.js';
import { AfterCommitDispatcher } from './after-commit.dispatcher.js';

/** After commit: the events go to the stream (this instance's clients and, through Redis, the others). */
@Injectable()
export class PublishOrderEvents implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly dispatcher: AfterCommitDispatcher,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    this.unregister = this.dispatcher.register((events) => this.bus.publish(events));
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }
}
