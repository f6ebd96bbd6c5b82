import { randomUUID } from 'node:crypto';
import type { Clock } from '@gateway/oms';
import type { TradingState } from '@gateway/risk';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { AccountEntity, GlobalTradingStateEntity, TradingStateChangeEntity } from '../database/entities.js';
import { CLOCK } from '../market/market.tokens.js';
import { OrderLedger } from '../orders/order-ledger.js';
import { OrdersService } from '../orders/orders.service.js';
import { REDIS, REDIS_SUBSCRIBER } from '../redis/redis.provider.js';
import { forEachLimited } from '../common/concurrency.js';
import { effectiveTradingState, readGlobalTradingState, recordTradingStateChange } from './trading-state.store.js';

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

const OPEN = `o.status IN ('pending_new', 'new', 'partially_filled', 'unknown', 'pending_cancel', 'pending_replace')`;
/**
 * Orders the kill switch cancels: open, not already being canceled, and accepted outside a halt (the
 * exits accepted during it stay). A pending replace is reached through its replacement, and through the
 * old order once the replace is settled.
 */
const TO_CANCEL = `o.status IN ('pending_new', 'new', 'partially_filled', 'unknown') AND o.cancel_requested_at IS NULL
  AND o.accepted_trading_state IS DISTINCT FROM 'halted'`;
/** Accounts worked on at once by a cancel pass, and cancels in flight at once per account. */
const ACCOUNTS_AT_ONCE = 4;
const CANCELS_AT_ONCE_PER_ACCOUNT = 8;
const RECHECK_AFTER_HALT_MS = 500;

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
    return globalStateDto(await readGlobalTradingState(this.dataSource.manager));
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
   * `halted` also cancels every working order accepted before it (the kill switch); a halt of a scope
   * already halted is recorded and changes nothing else. `rearm` returns the scope to the state it had
   * before its halt (an account `reducing` before it stays `reducing`), or `active` when not halted.
   * Leaving `halted`, the exits accepted during it become ordinary working orders, which a later halt
   * cancels like any other.
   */
  async setState(
    principal: Principal,
    target: Scope,
    state: TradingState | 'rearm',
    reason: string,
    source: 'kill_switch' | 'rearm' | 'trading_state',
  ): Promise<TradingStateDto> {
    const now = new Date(this.clock.now());
    const change = { state, source, reason, changedBy: principal.subject, changedAt: now };
    const result =
      target.scope === 'global' ? await this.setGlobal(change) : await this.setAccount(target.accountId, change);
    this.logger.warn(
      {
        scope: target.scope,
        accountId: result.accountId,
        state: result.state,
        source,
        changedBy: principal.subject,
        reason,
      },
      'trading state changed',
    );
    if (result.state === 'halted') {
      this.redis.publish(this.channel, `${this.instanceId}:${target.scope}`).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'Redis publish failed: other instances cancel on their next sweep');
      });
      void this.enforce();
      // An order whose transaction read the state just before the halt committed may commit just after
      // this pass looked: one more pass once such a transaction has had time to end (the sweep is the backstop).
      setTimeout(() => void this.enforce(), RECHECK_AFTER_HALT_MS).unref();
    } else {
      await this.relabelExits(target.scope === 'account' ? target.accountId : null);
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
      const state = change.state === 'rearm' ? await this.stateBeforeHalt(manager, current.state, null) : change.state;
      await recordTradingStateChange(manager, {
        scope: 'global',
        accountId: null,
        previousState: current.state,
        ...change,
        state,
      });
      const next = current.state === state ? current : { ...current, ...change, state };
      await manager.update(
        GlobalTradingStateEntity,
        { singleton: true },
        { state: next.state, reason: next.reason, changedBy: next.changedBy, changedAt: next.changedAt },
      );
      return globalStateDto(next);
    });
  }

  private async setAccount(accountId: string, change: Change): Promise<TradingStateDto> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const a = tx.account;
      const state =
        change.state === 'rearm' ? await this.stateBeforeHalt(tx.manager, a.tradingState, accountId) : change.state;
      await recordTradingStateChange(tx.manager, {
        scope: 'account',
        accountId,
        previousState: a.tradingState,
        ...change,
        state,
      });
      if (a.tradingState !== state || a.tradingStateChangedAt === null) {
        const fields = {
          tradingState: state,
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

  /** What a re-arm returns a scope to: the state before its latest halt, or `active` when it is not halted. */
  private async stateBeforeHalt(
    manager: EntityManager,
    current: TradingState,
    accountId: string | null,
  ): Promise<TradingState> {
    if (current !== 'halted') {
      return 'active';
    }
    const [row] = await manager.query<{ previous_state: TradingState }[]>(
      `SELECT previous_state FROM trading_state_changes
        WHERE scope = $1 AND account_id IS NOT DISTINCT FROM $2 AND state = 'halted' AND previous_state <> 'halted'
        ORDER BY id DESC LIMIT 1`,
      [accountId === null ? 'global' : 'account', accountId],
    );
    return row?.previous_state ?? 'active';
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

  private async enforcePass(): Promise<void> {
    const global = await readGlobalTradingState(this.dataSource.manager);
    // Found without locks (cheap enough for every sweep); each account's list is then read under its lock.
    const accounts = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT DISTINCT o.account_id FROM orders o JOIN accounts a ON a.id = o.account_id
        WHERE ${TO_CANCEL} AND ($1 OR a.trading_state = 'halted')`,
      [global.state === 'halted'],
    );
    await forEachLimited(accounts, ACCOUNTS_AT_ONCE, (a) => this.cancelAcceptedBeforeHalt(a.account_id));
    await this.relabelExits(null);
  }

  /**
   * Under the account's lock (so every order accepted before the halt is committed and every later one
   * sees it), the open orders to cancel; then the cancels, a few at a time: the database steps queue on
   * the lock, the broker calls overlap, and the broker is not flooded. They are the gateway's own
   * messages: they count toward neither the account's message rate nor its order-to-trade ratio.
   */
  private async cancelAcceptedBeforeHalt(accountId: string): Promise<void> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const global = await readGlobalTradingState(tx.manager);
      if (effectiveTradingState(tx.account, global).state !== 'halted') {
        return [];
      }
      const rows = await tx.manager.query<{ id: string }[]>(
        `SELECT o.id FROM orders o WHERE o.account_id = $1 AND ${TO_CANCEL} ORDER BY o.id`,
        [accountId],
      );
      return rows.map((r) => r.id);
    });
    await forEachLimited(step?.result ?? [], CANCELS_AT_ONCE_PER_ACCOUNT, (id) =>
      this.orders.cancel(accountId, id, { initiator: 'kill_switch' }).then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof ApiError) || error.code !== 'order.not_cancelable') {
            this.logger.warn({ err: error, orderId: id, accountId }, 'kill switch cancel failed; the sweep retries');
          }
        },
      ),
    );
  }

  /**
   * Once a scope is no longer halted, its open orders accepted during the halt (exits) become ordinary
   * working orders (labelled with the state now in force), so that the next halt cancels them too.
   * Under each account's lock, so an exit being accepted at the same moment is relabelled as well.
   */
  private async relabelExits(accountId: string | null): Promise<void> {
    const rows = await this.dataSource.query<{ account_id: string }[]>(
      `SELECT DISTINCT account_id FROM orders o
        WHERE o.accepted_trading_state = 'halted' AND ${OPEN} AND ($1::uuid IS NULL OR o.account_id = $1)`,
      [accountId],
    );
    await forEachLimited(rows, ACCOUNTS_AT_ONCE, async ({ account_id: id }) => {
      await this.ledger.inAccount(id, async (tx) => {
        const effective = effectiveTradingState(tx.account, await readGlobalTradingState(tx.manager));
        if (effective.state !== 'halted') {
          await tx.manager.query(
            `UPDATE orders o SET accepted_trading_state = $2
              WHERE o.account_id = $1 AND o.accepted_trading_state = 'halted' AND ${OPEN}`,
            [id, effective.state],
          );
        }
      });
    });
  }
}

type Change = { state: TradingState | 'rearm'; source: string; reason: string; changedBy: string; changedAt: Date };

export function globalStateDto(g: GlobalTradingStateEntity): TradingStateDto {
  return {
    scope: 'global',
    accountId: null,
    state: g.state,
    reason: g.reason,
    changedBy: g.changedBy,
    changedAt: g.changedAt.toISOString(),
  };
}

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
