import type { Clock } from '@gateway/oms';
import type { TradingState } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { GlobalTradingState, RecordedTradingStateChange } from '../accounts/trading-state.js';
import { TradingStateRepository } from '../accounts/trading-state.repository.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { CLOCK } from '../market/market.tokens.js';
import { AccountLock } from '../persistence/account-lock.js';
import type { AccountScope, TransactionScope } from '../persistence/account-scope.js';

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

/** Through which route a state is set (`lockdown`: the RTT lockdown, risk/lockdown/). */
export type TradingStateSource = 'kill_switch' | 'rearm' | 'trading_state' | 'lockdown';

type Change = { state: TradingState | 'rearm'; source: string; reason: string; changedBy: string; changedAt: Date };

/**
 * Trading authority (ARCHITECTURE.md "Trading authority"). PostgreSQL holds the global and per-account
 * states and their history; every order reads them under its account lock, so a committed halt
 * refuses the next entry on every instance at once. Nothing re-arms by itself:
 * `DELETE /v1/kill-switch` (or a PUT of the state) is the only way back to `active`. What a halt
 * cancels is the kill switch's (kill-switch/).
 */
@Injectable()
export class TradingControlService {
  constructor(
    private readonly lock: AccountLock,
    private readonly tradingStates: TradingStateRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `GET /v1/trading-state`: the global state. */
  async globalState(): Promise<TradingStateDto> {
    return globalStateDto(await this.tradingStates.global());
  }

  /** The history of trading state changes, newest first: the global ones, or one account's. */
  async history(scope: Scope, limit: number): Promise<TradingStateChangeDto[]> {
    const changes = await this.tradingStates.history(scope.scope === 'global' ? null : scope.accountId, limit);
    return changes.map(changeDto);
  }

  /**
   * Sets a trading state, recorded with who and why (`source` says through which route); a halt of a
   * scope already halted is recorded and changes nothing else. `rearm` returns the scope to the state
   * it had before its halt (an account `reducing` before it stays `reducing`), or `active` when not
   * halted. `404 account.not_found` for an account that does not exist.
   */
  async setState(
    principal: Principal,
    target: Scope,
    state: TradingState | 'rearm',
    reason: string,
    source: TradingStateSource,
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
    return result;
  }

  /**
   * Sets an account's own state, recorded and logged as `setState` does, only if `when` holds under the
   * account's lock (an automatic control must not overwrite a state someone set meanwhile, a halt say).
   * Returns the state after, or null when `when` refused (nothing recorded) or the account is gone.
   */
  async setAccountStateIf(
    principal: Principal,
    accountId: string,
    state: TradingState,
    reason: string,
    source: TradingStateSource,
    when: (scope: AccountScope) => Promise<boolean>,
  ): Promise<TradingStateDto | null> {
    const change = { state, source, reason, changedBy: principal.subject, changedAt: new Date(this.clock.now()) };
    const step = await this.lock.inAccountScope(accountId, async (scope) => {
      if (!(await when(scope))) {
        return null;
      }
      await this.tradingStates.record(scope, {
        scope: 'account',
        accountId,
        previousState: scope.account.tradingState,
        ...change,
      });
      await this.tradingStates.setAccount(scope, {
        tradingState: state,
        tradingStateReason: reason,
        tradingStateChangedBy: principal.subject,
        tradingStateChangedAt: change.changedAt,
      });
      return accountStateDto(scope.account);
    });
    const result = step?.result ?? null;
    if (result) {
      this.logger.warn(
        { scope: 'account', accountId, state, source, changedBy: principal.subject, reason },
        'trading state changed',
      );
    }
    return result;
  }

  private setGlobal(change: Change): Promise<TradingStateDto> {
    return this.tradingStates.inGlobalScope(async (scope) => {
      const current = scope.global;
      const state = change.state === 'rearm' ? await this.stateBeforeHalt(scope, current.state, null) : change.state;
      await this.tradingStates.record(scope, {
        scope: 'global',
        accountId: null,
        previousState: current.state,
        ...change,
        state,
      });
      const next: GlobalTradingState =
        current.state === state
          ? current
          : { state, reason: change.reason, changedBy: change.changedBy, changedAt: change.changedAt };
      await this.tradingStates.setGlobal(scope, next);
      return globalStateDto(next);
    });
  }

  private async setAccount(accountId: string, change: Change): Promise<TradingStateDto> {
    const step = await this.lock.inAccountScope(accountId, async (scope) => {
      const a = scope.account;
      const state =
        change.state === 'rearm' ? await this.stateBeforeHalt(scope, a.tradingState, accountId) : change.state;
      await this.tradingStates.record(scope, {
        scope: 'account',
        accountId,
        previousState: a.tradingState,
        ...change,
        state,
      });
      if (a.tradingState !== state || a.tradingStateChangedAt === null) {
        await this.tradingStates.setAccount(scope, {
          tradingState: state,
          tradingStateReason: change.reason,
          tradingStateChangedBy: change.changedBy,
          tradingStateChangedAt: change.changedAt,
        });
      }
      return accountStateDto(scope.account);
    });
    if (!step) {
      throw ApiError.accountNotFound(accountId);
    }
    return step.result;
  }

  /** What a re-arm returns a scope to: the state before its latest halt, or `active` when it is not halted. */
  private async stateBeforeHalt(
    scope: TransactionScope,
    current: TradingState,
    accountId: string | null,
  ): Promise<TradingState> {
    if (current !== 'halted') {
      return 'active';
    }
    return (await this.tradingStates.stateBeforeHalt(scope, accountId)) ?? 'active';
  }
}

function globalStateDto(g: GlobalTradingState): TradingStateDto {
  return {
    scope: 'global',
    accountId: null,
    state: g.state,
    reason: g.reason,
    changedBy: g.changedBy,
    changedAt: g.changedAt.toISOString(),
  };
}

interface OwnState {
  readonly id: string;
  readonly tradingState: TradingState;
  readonly tradingStateReason: string | null;
  readonly tradingStateChangedBy: string | null;
  readonly tradingStateChangedAt: Date | null;
}

function accountStateDto(a: OwnState): TradingStateDto {
  return {
    scope: 'account',
    accountId: a.id,
    state: a.tradingState,
    reason: a.tradingStateReason,
    changedBy: a.tradingStateChangedBy,
    changedAt: a.tradingStateChangedAt?.toISOString() ?? null,
  };
}

function changeDto(c: RecordedTradingStateChange): TradingStateChangeDto {
  return {
    id: c.id,
    scope: c.scope,
    accountId: c.accountId,
    previousState: c.previousState,
    state: c.state,
    source: c.source,
    reason: c.reason,
    changedBy: c.changedBy,
    changedAt: c.changedAt.toISOString(),
  };
}
