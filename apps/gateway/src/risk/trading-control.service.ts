import { randomUUID } from 'node:crypto';
import type { Clock } from '@gateway/oms';
import type { TradingState } from '@gateway/risk';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { AccountEntity, GlobalTradingStateEntity, TradingStateChangeEntity } from '../database/entities.js';
import { CLOCK } from '../market/market.tokens.js';
import { OrderLedger } from '../orders/order-ledger.js';
import { OrdersService } from '../orders/orders.service.js';
import { REDIS, REDIS_SUBSCRIBER } from '../redis/redis.provider.js';
import { readGlobalTradingState, recordTradingStateChange } from './trading-state.store.js';

/** A trading state as the API shows it: global, or one account's own. */
export interface TradingStateDto {
  scope: 'global' | 'account';
  accountId: string | null;
  state: TradingState;
  reason: string | null;
  changedBy: string | null;
  changedAt: string | null;
}

export interface TradingStateChangeDto {
  id: string;
  scope: 'global' | 'account';
  accountId: string | null;
  previousState: string;
  state: string;
  source: string;
  reason: string;
  changedBy: string;
  changedAt: string;
}

export type Scope = { scope: 'global' } | { scope: 'account'; accountId: string };

/** Orders the kill switch cancels: open, and accepted before the halt (exits accepted during it stay). */
const CANCELABLE = `status IN ('pending_new', 'new', 'partially_filled', 'unknown')`;

/**
 * Trading authority (ARCHITECTURE.md; issue 4 "Trading state and authority"). PostgreSQL holds the
 * global and per-account states and their history; every order reads them under its account lock, so a
 * committed halt refuses the next entry on every instance at once. The kill switch then cancels every
 * order accepted before the halt: the instance that took the request at once, every other instance when
 * Redis tells it (`<prefix>trading-control`), and each instance's periodic sweep as the backstop should
 * Redis lose the message. Cancels are idempotent across instances (a `pending_cancel` order is not sent
 * twice), and an order not yet acknowledged gets its cancel sent on the acknowledgement. Nothing
 * re-arms by itself: `DELETE /v1/kill-switch` (or a PUT of the state) is the only way back to `active`.
 */
@Injectable()
export class TradingControlService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly channel: string;
  private readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private enforcing: Promise<void> | null = null;
  private enforceAgain = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: OrderLedger,
    private readonly orders: OrdersService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(CLOCK) private readonly clock: Clock,
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

  /** `GET /v1/trading-state`: the global state. */
  async globalState(): Promise<TradingStateDto> {
    const g = await readGlobalTradingState(this.dataSource.manager);
    return {
      scope: 'global',
      accountId: null,
      state: g.state,
      reason: g.reason,
      changedBy: g.changedBy,
      changedAt: g.changedAt.toISOString(),
    };
  }

  /** The history of trading state changes, newest first: the global ones, or one account's. */
  async history(scope: Scope, limit: number): Promise<TradingStateChangeDto[]> {
    const rows = await this.dataSource.getRepository(TradingStateChangeEntity).find({
      where: scope.scope === 'global' ? { scope: 'global' } : { scope: 'account', accountId: scope.accountId },
      order: { id: 'DESC' },
      take: limit,
    });
    return rows.map((r) => ({
      id: r.id,
      scope: r.scope,
      accountId: r.accountId,
      previousState: r.previousState,
      state: r.state,
      source: r.source,
      reason: r.reason,
      changedBy: r.changedBy,
      changedAt: r.changedAt.toISOString(),
    }));
  }

  /**
   * Sets a trading state, recorded with who and why (`source` says through which route). Setting
   * `halted` also cancels every working order accepted before it (the kill switch). Setting the state
   * it already has is recorded too and changes nothing else (the original time of a halt is kept).
   */
  async setState(
    principal: Principal,
    target: Scope,
    state: TradingState,
    reason: string,
    source: 'kill_switch' | 'rearm' | 'trading_state',
  ): Promise<TradingStateDto> {
    const now = new Date(this.clock.now());
    const change = { state, source, reason, changedBy: principal.subject, changedAt: now };
    const result =
      target.scope === 'global' ? await this.setGlobal(change) : await this.setAccount(target.accountId, change);
    this.logger.warn(
      { scope: target.scope, accountId: result.accountId, state, source, changedBy: principal.subject, reason },
      'trading state changed',
    );
    if (state === 'halted') {
      this.redis.publish(this.channel, `${this.instanceId}:${target.scope}`).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'Redis publish failed: other instances cancel on their next sweep');
      });
      void this.enforce();
    }
    return result;
  }

  private async setGlobal(change: Change): Promise<TradingStateDto> {
    return this.dataSource.transaction(async (manager) => {
      const current = await manager
        .createQueryBuilder(GlobalTradingStateEntity, 'g')
        .setLock('pessimistic_write')
        .where('g.singleton')
        .getOneOrFail();
      await recordTradingStateChange(manager, {
        scope: 'global',
        accountId: null,
        previousState: current.state,
        ...change,
      });
      const next = current.state === change.state ? current : { ...current, ...this.stateFields(change) };
      await manager.update(GlobalTradingStateEntity, { singleton: true }, this.stateFields(next));
      return {
        scope: 'global' as const,
        accountId: null,
        state: next.state,
        reason: next.reason,
        changedBy: next.changedBy,
        changedAt: next.changedAt.toISOString(),
      };
    });
  }

  private async setAccount(accountId: string, change: Change): Promise<TradingStateDto> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const a = tx.account;
      await recordTradingStateChange(tx.manager, {
        scope: 'account',
        accountId,
        previousState: a.tradingState,
        ...change,
      });
      if (a.tradingState !== change.state || a.tradingStateChangedAt === null) {
        const fields = {
          tradingState: change.state,
          tradingStateReason: change.reason,
          tradingStateChangedBy: change.changedBy,
          tradingStateChangedAt: change.changedAt,
        };
        await tx.manager.update(AccountEntity, { id: accountId }, fields);
        Object.assign(a, fields);
      }
      return accountStateDto(a);
    });
    if (!step) {
      throw ApiError.accountNotFound(accountId);
    }
    return step.result;
  }

  private stateFields(c: { state: TradingState; reason: string | null; changedBy: string | null; changedAt: Date }) {
    return { state: c.state, reason: c.reason, changedBy: c.changedBy, changedAt: c.changedAt };
  }

  /**
   * Cancels every order accepted before a halt that is still open, in every halted scope. Single-flight:
   * a request while a pass runs queues one more pass (it may have missed a just-committed order).
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

  private async enforcePass(): Promise<void> {
    const global = await readGlobalTradingState(this.dataSource.manager);
    const accounts = await this.dataSource.getRepository(AccountEntity).find({
      where: global.state === 'halted' ? {} : { tradingState: 'halted' },
      select: { id: true },
    });
    await Promise.all(accounts.map((a) => this.cancelAcceptedBeforeHalt(a.id)));
  }

  /**
   * Under the account's lock (so every order accepted before the halt is committed and every later one
   * sees it), the open orders to cancel; then each cancel, concurrently: the database steps queue on
   * the lock, the broker calls overlap.
   */
  private async cancelAcceptedBeforeHalt(accountId: string): Promise<void> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const global = await readGlobalTradingState(tx.manager);
      const haltedAt = [
        global.state === 'halted' ? global.changedAt : null,
        tx.account.tradingState === 'halted' ? tx.account.tradingStateChangedAt : null,
      ].filter((d): d is Date => d !== null);
      if (haltedAt.length === 0) {
        return [];
      }
      const since = new Date(Math.min(...haltedAt.map((d) => d.getTime())));
      const rows: { id: string }[] = await tx.manager.query(
        `SELECT id FROM orders WHERE account_id = $1 AND ${CANCELABLE} AND cancel_requested_at IS NULL
           AND (accepted_trading_state IS DISTINCT FROM 'halted' OR created_at < $2) ORDER BY id`,
        [accountId, since],
      );
      return rows.map((r) => r.id);
    });
    const ids = step?.result ?? [];
    await Promise.all(
      ids.map((id) =>
        this.orders.cancel(accountId, id).catch((error: unknown) => {
          if (!(error instanceof ApiError) || error.code !== 'order.not_cancelable') {
            this.logger.warn({ err: error, orderId: id, accountId }, 'kill switch cancel failed; the sweep retries');
          }
        }),
      ),
    );
  }
}

type Change = { state: TradingState; source: string; reason: string; changedBy: string; changedAt: Date };

export function accountStateDto(a: AccountEntity): TradingStateDto {
  return {
    scope: 'account',
    accountId: a.id,
    state: a.tradingState,
    reason: a.tradingStateReason,
    changedBy: a.tradingStateChangedBy,
    changedAt: a.tradingStateChangedAt?.toISOString() ?? null,
  };
}
