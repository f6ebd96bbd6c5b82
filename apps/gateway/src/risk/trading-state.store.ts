import { mostRestrictive, type TradingState } from '@gateway/risk';
import type { EntityManager } from 'typeorm';
import { type AccountEntity, GlobalTradingStateEntity, TradingStateChangeEntity } from '../database/entities.js';

/** The global trading state row (kill switch scope `global`), read in the caller's transaction. */
export function readGlobalTradingState(manager: EntityManager): Promise<GlobalTradingStateEntity> {
  return manager.findOneByOrFail(GlobalTradingStateEntity, { singleton: true });
}

/** An account's effective trading state: its own, or the global one when that is more restrictive. */
export interface EffectiveTradingState {
  readonly state: TradingState;
  /** Why, naming the scope that set it; null when active. */
  readonly reason: string | null;
}

export function effectiveTradingState(account: AccountEntity, global: GlobalTradingStateEntity): EffectiveTradingState {
  const state = mostRestrictive(account.tradingState, global.state);
  if (state === 'active') {
    return { state, reason: null };
  }
  const globalWins =
    global.state !== account.tradingState && mostRestrictive(global.state, account.tradingState) === global.state;
  const why = globalWins ? global.reason : account.tradingStateReason;
  return {
    state,
    reason: `${globalWins ? 'globally' : 'for this account'} ${state}${why ? `: ${why}` : ''}`,
  };
}

/** What a change of trading state records (append-only history, with who and why). */
export interface TradingStateChange {
  readonly scope: 'global' | 'account';
  readonly accountId: string | null;
  readonly previousState: TradingState;
  readonly state: TradingState;
  /** `kill_switch`, `rearm`, `trading_state` (set by risk staff) or `order_to_trade_ratio`. */
  readonly source: string;
  readonly reason: string;
  readonly changedBy: string;
  readonly changedAt: Date;
}

export async function recordTradingStateChange(manager: EntityManager, change: TradingStateChange): Promise<void> {
  await manager.insert(TradingStateChangeEntity, change);
}
