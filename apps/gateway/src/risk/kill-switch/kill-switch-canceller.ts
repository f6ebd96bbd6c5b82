import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { effectiveTradingState } from '../../accounts/trading-state.js';
import { TradingStateRepository } from '../../accounts/trading-state.repository.js';
import { ApiError } from '../../common/api-error.js';
import { forEachLimited } from '../../common/concurrency.js';
import { LOGGER } from '../../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.js';
import { AccountLock } from '../../persistence/account-lock.js';
import { REDIS, REDIS_SUBSCRIBER } from '../../redis/redis.provider.js';
import { ORDER_CANCELS, type OrderCancels } from '../order-cancels.port.js';
import { KillSwitchOrdersRepository } from './kill-switch-orders.repository.js';

/** Accounts worked on at once by a cancel pass, and cancels in flight at once per account. */
const ACCOUNTS_AT_ONCE = 4;
const CANCELS_AT_ONCE_PER_ACCOUNT = 8;
const RECHECK_AFTER_HALT_MS = 500;

/**
 * The kill switch's cancels (ARCHITECTURE.md "Trading authority"): once a halt is committed, every
 * order accepted before it is canceled: by the instance that took the request at once, by every other
 * instance when Redis tells it (`<prefix>trading-control`), and by each instance's periodic sweep as
 * the backstop should Redis lose the message. Cancels are idempotent across instances (a
 * `pending_cancel` order is not sent twice), and an order not yet acknowledged gets its cancel sent on
 * the acknowledgement.
 */
@Injectable()
export class KillSwitchCanceller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly channel: string;
  private readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private enforcing: Promise<void> | null = null;
  private enforceAgain = false;
  private stopped = false;

  constructor(
    private readonly lock: AccountLock,
    private readonly tradingStates: TradingStateRepository,
    private readonly orders: KillSwitchOrdersRepository,
    @Inject(ORDER_CANCELS) private readonly cancels: OrderCancels,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.channel = `${config.redisPrefix}trading-control`;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel && !message.startsWith(`${this.instanceId}:`)) {
        void this.enforce();
      }
    });
    await this.subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'Redis unavailable: halts reach this instance by its sweep only');
    });
    this.timer = setInterval(() => void this.enforce(), this.config.killSwitchSweepMs);
    this.timer.unref();
    void this.enforce();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.enforcing;
  }

  /** After a halt of `scope` is committed: tells the other instances, and cancels here at once. */
  halted(scope: 'global' | 'account'): void {
    this.redis.publish(this.channel, `${this.instanceId}:${scope}`).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'Redis publish failed: other instances cancel on their next sweep');
    });
    void this.enforce();
    // An order whose transaction read the state just before the halt committed may commit just after
    // this pass looked: one more pass once such a transaction has had time to end (the sweep is the backstop).
    setTimeout(() => void this.enforce(), RECHECK_AFTER_HALT_MS).unref();
  }

  /**
   * Cancels every order accepted before a halt that is still open, in every halted scope, then relabels
   * the exits of scopes no longer halted. Single-flight: a request while a pass runs queues one more.
   */
  enforce(): Promise<void> {
    if (this.enforcing) {
      this.enforceAgain = true;
      return this.enforcing;
    }
    this.enforcing = this.enforcePass()
      .catch((error: unknown) => this.logger.error({ err: error }, 'kill switch cancel pass failed; retried'))
      .finally(() => {
        this.enforcing = null;
        if (this.enforceAgain && !this.stopped) {
          this.enforceAgain = false;
          void this.enforce();
        }
      });
    return this.enforcing;
  }

  /**
   * Once a scope is no longer halted (every account, or only `accountId`), its open orders accepted
   * during the halt (exits) become ordinary working orders (labelled with the state now in force), so
   * that the next halt cancels them too. Under each account's lock, so an exit being accepted at the
   * same moment is relabelled as well.
   */
  async relabelExits(accountId: string | null): Promise<void> {
    const accounts = await this.orders.accountsWithExits(accountId);
    await forEachLimited(accounts, ACCOUNTS_AT_ONCE, async (id) => {
      await this.lock.inAccountScope(id, async (scope) => {
        const effective = effectiveTradingState(scope.account, await this.tradingStates.global(scope));
        if (effective.state !== 'halted') {
          await this.orders.relabelExits(scope, effective.state);
        }
      });
    });
  }

  private async enforcePass(): Promise<void> {
    const global = await this.tradingStates.global();
    // Found without locks (cheap enough for every sweep); each account's list is then read under its lock.
    const accounts = await this.orders.accountsToCancel(global.state === 'halted');
    await forEachLimited(accounts, ACCOUNTS_AT_ONCE, (id) => this.cancelAcceptedBeforeHalt(id));
    await this.relabelExits(null);
  }

  /**
   * Under the account's lock (so every order accepted before the halt is committed and every later one
   * sees it), the open orders to cancel; then the cancels, a few at a time: the database steps queue on
   * the lock, the broker calls overlap, and the broker is not flooded. They are the gateway's own
   * messages: they count toward neither the account's message rate nor its order-to-trade ratio.
   */
  private async cancelAcceptedBeforeHalt(accountId: string): Promise<void> {
    const step = await this.lock.inAccountScope(accountId, async (scope) => {
      const global = await this.tradingStates.global(scope);
      return effectiveTradingState(scope.account, global).state === 'halted' ? this.orders.ordersToCancel(scope) : [];
    });
    await forEachLimited(step?.result ?? [], CANCELS_AT_ONCE_PER_ACCOUNT, (id) =>
      this.cancels.cancel(accountId, id, { initiator: 'kill_switch' }).then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof ApiError) || error.code !== 'order.not_cancelable') {
            this.logger.warn({ err: error, orderId: id, accountId }, 'kill switch cancel failed; the sweep retries');
          }
        },
      ),
    );
  }
}
