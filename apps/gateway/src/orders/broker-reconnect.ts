import { type BrokerConnectionChange } from '@gateway/brokers';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountRepository } from '../accounts/account.repository.js';
import { LOGGER } from '../common/logger.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { ReconciliationJobs } from './reconciliation-jobs.js';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * A reconnect never restores entry authority by itself (ARCHITECTURE.md): when a broker client's
 * connection is back, every account it serves gets the account reconciliation pass (orders, then
 * positions: ReconciliationJobs.runHere); once each pass is clean (the broker answered, no order left
 * unresolved), AccountBrokers lets entries through again. A position break it finds blocks entries in
 * its own symbol only (`risk.position_break`), not the whole account.
 * A pass that is not clean is run again with a back-off (from 0.5 s, doubling, at most 30 s) for as long
 * as the client stays connected; a new outage ends it (the next reconnect starts another).
 */
@Injectable()
export class BrokerReconnectReconciliation implements OnModuleInit, OnModuleDestroy {
  private readonly running = new Map<string, Promise<void>>();
  private unsubscribe: (() => void) | null = null;
  private stopping = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly brokers: AccountBrokers,
    private readonly accounts: AccountRepository,
    private readonly passes: ReconciliationJobs,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.brokers.onReconnected((change) => this.start(change));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.timers.forEach((t) => clearTimeout(t));
    await Promise.all(this.running.values());
  }

  /** Resolves when the reconnect passes running now have ended (tests). */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private start(change: BrokerConnectionChange): void {
    if (this.running.has(change.key)) {
      return; // the run in progress sees the new state on its next round
    }
    const run = this.run(change).finally(() => this.running.delete(change.key));
    this.running.set(change.key, run);
  }

  private async run(change: BrokerConnectionChange): Promise<void> {
    let delay = FIRST_RETRY_MS;
    while (!this.stopping && this.brokers.isAwaitingReconciliation(change.key)) {
      if (await this.passClean(change)) {
        this.brokers.restored(change.key);
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, delay);
        timer.unref();
        this.timers.add(timer);
      });
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  /** The account pass over every account the client serves; true when every one was clean. */
  private async passClean(change: BrokerConnectionChange): Promise<boolean> {
    const served = (await this.accounts.onBroker(change.broker)).filter(
      (a) =>
        (change.accountId === null || a.id === change.accountId) && this.brokers.serves(change.broker, a.environment),
    );
    let clean = true;
    for (const { id, environment } of served) {
      try {
        // The whole account pass (orders, then positions), in the job log with the `reconnect` trigger.
        const { orders } = await this.passes.runHere(id, environment, 'reconnect');
        const unresolved = orders.filter((r) => r.actions.includes('unresolved'));
        if (unresolved.length > 0) {
          clean = false;
          this.logger.warn(
            { accountId: id, broker: change.broker, orders: unresolved.map((r) => r.orderId) },
            'reconnect reconciliation left orders unresolved: entries stay blocked',
          );
        }
      } catch (error) {
        clean = false;
        this.logger.warn(
          { err: error, accountId: id, broker: change.broker },
          'reconnect reconciliation failed: entries stay blocked; retrying',
        );
      }
    }
    return clean;
  }
}
