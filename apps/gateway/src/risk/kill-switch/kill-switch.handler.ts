import type { TradingState } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import { AccountsService } from '../../accounts/accounts.service.js';
import type { Principal } from '../../auth/principal.js';
import { ApiError } from '../../common/api-error.js';
import {
  type Scope,
  TradingControlService,
  type TradingStateDto,
  type TradingStateSource,
} from '../trading-control.service.js';
import { KillSwitchCanceller } from './kill-switch-canceller.js';

/** `POST` / `DELETE /v1/kill-switch`: the scope to halt or re-arm, and why. */
export interface KillSwitchCommand {
  readonly scope: 'global' | 'account';
  /** Set with scope `account` only (the edge checks it). */
  readonly accountId?: string | undefined;
  readonly reason: string;
}

/**
 * The kill switch and the trading state commands (API.md): a halt is committed first (every new entry
 * refused on every instance), then the orders accepted before it are canceled (KillSwitchCanceller);
 * leaving `halted`, the exits accepted during the halt become ordinary working orders, which a later
 * halt cancels like any other.
 */
@Injectable()
export class KillSwitchHandler {
  constructor(
    private readonly accounts: AccountsService,
    private readonly control: TradingControlService,
    private readonly canceller: KillSwitchCanceller,
  ) {}

  /** `halted` at once for the scope; the cancels are under way when this returns. */
  async halt(principal: Principal, command: KillSwitchCommand): Promise<TradingStateDto> {
    return this.set(principal, await this.scope(principal, command), 'halted', command.reason, 'kill_switch');
  }

  /** The scope returns to the state it had before its halt (`active`, or `reducing` when it was). */
  async rearm(principal: Principal, command: KillSwitchCommand): Promise<TradingStateDto> {
    return this.set(principal, await this.scope(principal, command), 'rearm', command.reason, 'rearm');
  }

  /** `PUT /v1/accounts/{id}/trading-state` on an account the caller may see: `halted` also cancels. */
  setAccountState(
    principal: Principal,
    accountId: string,
    state: TradingState,
    reason: string,
  ): Promise<TradingStateDto> {
    return this.set(principal, { scope: 'account', accountId }, state, reason, 'trading_state');
  }

  private async set(
    principal: Principal,
    scope: Scope,
    state: TradingState | 'rearm',
    reason: string,
    source: TradingStateSource,
  ): Promise<TradingStateDto> {
    const result = await this.control.setState(principal, scope, state, reason, source);
    if (result.state === 'halted') {
      this.canceller.halted(scope.scope);
    } else {
      await this.canceller.relabelExits(scope.scope === 'account' ? scope.accountId : null);
    }
    return result;
  }

  /** Global changes need a grant on every account (`*`); an account's, that the caller may see it. */
  private async scope(principal: Principal, command: KillSwitchCommand): Promise<Scope> {
    if (command.scope === 'global') {
      if (principal.accounts !== '*') {
        throw ApiError.forbidden('A global halt or re-arm needs a grant on every account (*).');
      }
      return { scope: 'global' };
    }
    const accountId = command.accountId ?? '';
    await this.accounts.getVisible(principal, accountId);
    return { scope: 'account', accountId };
  }
}
